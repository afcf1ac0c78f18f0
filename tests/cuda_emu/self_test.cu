// The emulator's own tests: CUDA semantics it must reproduce (barriers, warp shuffles,
// launch checks, copies, cuBLAS), and the bugs it promises to stop at (host access to device
// memory, deadlocks, host pointers in kernels, cuBLAS out of bounds), each of those in a
// child process that must die with the emulator's message. CUDA source, translated like
// cuda/*.cu (translate.cmake).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "cublas_v2.h"
#include "cuda_runtime.h"

namespace {

// ---- helpers ---------------------------------------------------------------------------------

template <class T>
T* device_alloc(size_t n) {
  T* p = nullptr;
  REQUIRE(cudaMalloc(&p, n * sizeof(T)) == cudaSuccess);
  return p;
}

template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> h(n);
  REQUIRE(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
  return h;
}

template <class T>
T* to_device(const std::vector<T>& h) {
  T* d = device_alloc<T>(h.size());
  REQUIRE(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  return d;
}

// Runs `body` in a child process with default signal handling; its stderr and whether it
// died of `sig`.
struct Death {
  bool died = false;
  std::string stderr_text;
};
Death run_in_child(const std::function<void()>& body, int sig) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    body();
    _exit(0);
  }
  close(pipe_fds[1]);
  Death d;
  char buf[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof buf)) > 0;) d.stderr_text.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  d.died = WIFSIGNALED(status) && WTERMSIG(status) == sig;
  return d;
}

// ---- kernels ---------------------------------------------------------------------------------

// out[i] = the value the next thread of the block wrote to shared memory.
__global__ void rotate(int salt, int* out) {
  __shared__ int s[256];
  const int t = threadIdx.x, n = blockDim.x;
  s[t] = salt + static_cast<int>(blockIdx.x) * 1000 + t;
  __syncthreads();
  out[blockIdx.x * n + t] = s[(t + 1) % n];
}

// The same race without the barrier: the emulator runs a thread to its end before the next
// one starts, so a missing __syncthreads shows as wrong values (on a GPU: sometimes).
__global__ void rotate_without_barrier(int salt, int* out) {
  __shared__ int s[256];
  const int t = threadIdx.x, n = blockDim.x;
  s[t] = salt + static_cast<int>(blockIdx.x) * 1000 + t;
  out[blockIdx.x * n + t] = s[(t + 1) % n];
}

// Threads that return early do not hold up the barrier of the others.
__global__ void early_exit(int* out) {
  __shared__ int s[128];
  const int t = threadIdx.x;
  if (t >= 100) return;
  s[t] = t;
  __syncthreads();
  out[t] = s[99 - t];
}

// Block 0 writes its shared memory, block 1 does not: block 1 must not find block 0's values.
__global__ void read_unwritten_shared(int* out) {
  __shared__ int s[64];
  if (blockIdx.x == 0) s[threadIdx.x] = 5;
  __syncthreads();
  out[blockIdx.x * blockDim.x + threadIdx.x] = s[threadIdx.x];
}

// Warp shuffles over a 2-d block: the linear id (x fastest) decides the warp and lane.
__global__ void warp_ops(int* sum, int* bcast, int* down, int* up, int* xor16) {
  const int t = threadIdx.x + threadIdx.y * blockDim.x;
  int v = t;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  sum[t] = v;
  bcast[t] = __shfl_sync(0xffffffffu, t, 5);
  down[t] = __shfl_down_sync(0xffffffffu, t, 3, 16);
  up[t] = __shfl_up_sync(0xffffffffu, t, 2);
  xor16[t] = __shfl_xor_sync(0xffffffffu, t, 16, 16);
}

__global__ void atomic_count(int* counter, double* total) {
  atomicAdd(counter, 1);
  atomicAdd(total, 0.5);
}

__global__ void store_one(int* out) { out[threadIdx.x] = 1; }

// Lanes 0-15 wait for their warp, lanes 16-31 for the block: neither barrier can complete.
__global__ void warp_and_block_barrier(int* out) {
  if (threadIdx.x % 32 < 16) __syncwarp();
  else __syncthreads();
  out[threadIdx.x] = 1;
}

// Lanes 0-15 shuffle; lane 0 reads lane 16, which never takes part.
__global__ void shuffle_from_absent_lane(int* out) {
  int v = threadIdx.x;
  if (threadIdx.x < 16) v = __shfl_xor_sync(0x0000ffffu, v, 16);
  out[threadIdx.x] = v;
}

}  // namespace

// ---- CUDA semantics ------------------------------------------------------------------------------

TEST_CASE("cuda emulator: __syncthreads orders shared memory; a missing one and unwritten shared memory show") {
  int* out = device_alloc<int>(512);
  rotate<<<2, 256>>>(7, out);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  std::vector<int> got = to_host(out, 512);
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 256; ++t) CHECK(got[b * 256 + t] == 7 + b * 1000 + (t + 1) % 256);
  rotate_without_barrier<<<2, 256>>>(9, out);
  got = to_host(out, 512);
  int wrong = 0;  // reads of a neighbour that had not written yet (all but one thread, either order)
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 256; ++t) wrong += got[b * 256 + t] != 9 + b * 1000 + (t + 1) % 256;
  CHECK(wrong == 2 * 255);
  early_exit<<<1, 128>>>(out);
  got = to_host(out, 100);
  for (int t = 0; t < 100; ++t) CHECK(got[t] == 99 - t);
  read_unwritten_shared<<<2, 64>>>(out);
  got = to_host(out, 128);
  CHECK(got[0] == 5);
  CHECK(got[64] == -1);  // 0xFF bytes: shared memory is poisoned for every block
  cudaFree(out);
}

TEST_CASE("cuda emulator: warp shuffles follow the PTX lane rules, warps by linear thread id") {
  std::vector<int*> d(5);
  for (int*& p : d) p = device_alloc<int>(64);
  warp_ops<<<1, dim3(16, 4)>>>(d[0], d[1], d[2], d[3], d[4]);
  REQUIRE(cudaGetLastError() == cudaSuccess);
  const auto sum = to_host(d[0], 64), bcast = to_host(d[1], 64), down = to_host(d[2], 64), up = to_host(d[3], 64),
             xor16 = to_host(d[4], 64);
  for (int t = 0; t < 64; ++t) {
    const int w = t / 32, lane = t % 32;
    CAPTURE(t);
    CHECK(sum[t] == 32 * 32 * w + 496);
    CHECK(bcast[t] == 32 * w + 5);
    CHECK(down[t] == (lane % 16 + 3 < 16 ? t + 3 : t));  // stays inside its 16-lane segment
    CHECK(up[t] == (lane >= 2 ? t - 2 : t));
    CHECK(xor16[t] == (lane < 16 ? t : t - 16));  // a later segment gives the caller's own value
  }
  for (int* p : d) cudaFree(p);
}

TEST_CASE("cuda emulator: atomics") {
  int* counter = to_device(std::vector<int>{0});
  double* total = to_device(std::vector<double>{0});
  atomic_count<<<3, 100>>>(counter, total);
  CHECK(to_host(counter, 1)[0] == 300);
  CHECK(to_host(total, 1)[0] == 150.0);
  cudaFree(counter);
  cudaFree(total);
}

TEST_CASE("cuda emulator: launch configurations are checked like CUDA's") {
  int* out = to_device(std::vector<int>(32, 0));
  const auto rejected = [&](dim3 grid, dim3 block) {
    store_one<<<grid, block>>>(out);
    return cudaGetLastError() == cudaErrorInvalidConfiguration && cudaGetLastError() == cudaSuccess;
  };
  CHECK(rejected(1, 1025));
  CHECK(rejected(1, dim3(32, 32, 2)));
  CHECK(rejected(1, dim3(1, 1, 65)));
  CHECK(rejected(0, 32));
  CHECK(rejected(dim3(1, 65536), 32));
  CHECK(rejected(1, 0));
  CHECK(to_host(out, 32)[0] == 0);  // none of them ran
  store_one<<<dim3(1, 1, 1), 32>>>(out);
  CHECK(cudaGetLastError() == cudaSuccess);
  CHECK(to_host(out, 32)[31] == 1);
  cudaStream_t stream;
  REQUIRE(cudaStreamCreateWithFlags(&stream, cudaStreamDefault) == cudaSuccess);
  store_one<<<1, 32, 0, stream>>>(out);
  CHECK(cudaGetLastError() == cudaSuccess);
  CHECK(cudaStreamDestroy(stream) == cudaSuccess);
  CHECK(cudaStreamSynchronize(stream) == cudaErrorInvalidResourceHandle);
  (void)cudaGetLastError();
  cudaFree(out);
}

TEST_CASE("cuda emulator: memory: poisoned allocations, copies checked against their kind, capacity") {
  float* d = device_alloc<float>(16);
  for (float v : to_host(d, 16)) CHECK(std::isnan(v));  // 0xFF bytes: a read of unwritten memory shows
  std::vector<float> h(16, 1.0f);
  CHECK(cudaMemcpy(h.data(), d, 64, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);  // dst is host memory
  CHECK(cudaMemcpy(d, h.data(), 64, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);  // src is host memory
  CHECK(cudaMemcpy(d, h.data(), 68, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);  // past the allocation
  CHECK(cudaMemcpy(d + 4, d, 32, cudaMemcpyDeviceToDevice) == cudaSuccess);
  CHECK(cudaMemcpy(d, h.data(), 64, cudaMemcpyDefault) == cudaSuccess);
  CHECK(to_host(d, 16)[15] == 1.0f);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaSuccess);
  void* huge = nullptr;
  CHECK(cudaMalloc(&huge, size_t{1} << 50) == cudaErrorMemoryAllocation);
  CHECK(cudaFree(d + 1) == cudaErrorInvalidValue);  // not the start of an allocation
  CHECK(cudaFree(d) == cudaSuccess);
  CHECK(cudaFree(d) == cudaErrorInvalidValue);  // twice
  (void)cudaGetLastError();
}

TEST_CASE("cuda emulator: cuBLAS strided-batched GEMM: column-major results and argument checks") {
  cublasHandle_t h;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  // C_i (3 x 4) = A_i^T (A_i stored 5 x 3, ld 6) * B (4... broadcast: stride 0, stored 5 x 4, ld 5)
  const int m = 3, n = 4, k = 5, lda = 6, ldb = 5, ldc = 3, batch = 2;
  std::vector<double> a(batch * lda * m), b(ldb * n);
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(1.0 + i);
  for (size_t i = 0; i < b.size(); ++i) b[i] = std::cos(2.0 + i);
  double *da = to_device(a), *db = to_device(b), *dc = device_alloc<double>(batch * m * n);  // C: NaN poison
  const double one = 1, zero = 0;
  REQUIRE(cublasDgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, da, lda, lda * m, db, ldb, 0, &zero,
                                    dc, ldc, m * n, batch) == CUBLAS_STATUS_SUCCESS);
  const auto c = to_host(dc, batch * m * n);
  for (int i = 0; i < batch; ++i)
    for (int r = 0; r < m; ++r)
      for (int col = 0; col < n; ++col) {
        double want = 0;
        for (int l = 0; l < k; ++l) want += a[i * lda * m + r * lda + l] * b[col * ldb + l];
        CHECK(c[i * m * n + col * ldc + r] == doctest::Approx(want).epsilon(1e-14));  // beta 0: NaN not read
      }
  const auto status = [&](cublasOperation_t ta, int lda_, int ldb_, int ldc_, int m_) {
    return cublasDgemmStridedBatched(h, ta, CUBLAS_OP_N, m_, n, k, &one, da, lda_, 0, db, ldb_, 0, &zero, dc, ldc_, 0,
                                     1);
  };
  CHECK(status(CUBLAS_OP_T, k - 1, ldb, ldc, m) == CUBLAS_STATUS_INVALID_VALUE);  // lda < k (A stored k x m)
  CHECK(status(CUBLAS_OP_N, 2, ldb, ldc, m) == CUBLAS_STATUS_INVALID_VALUE);      // lda < m (A stored m x k)
  CHECK(status(CUBLAS_OP_T, lda, k - 1, ldc, m) == CUBLAS_STATUS_INVALID_VALUE);  // ldb < k
  CHECK(status(CUBLAS_OP_T, lda, ldb, m - 1, m) == CUBLAS_STATUS_INVALID_VALUE);  // ldc < m
  CHECK(status(CUBLAS_OP_T, lda, ldb, ldc, -1) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(status(static_cast<cublasOperation_t>(7), lda, ldb, ldc, m) == CUBLAS_STATUS_INVALID_VALUE);
  CHECK(std::string(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE)) == "CUBLAS_STATUS_INVALID_VALUE");
  cudaFree(da);
  cudaFree(db);
  cudaFree(dc);
  cublasDestroy(h);
}

// ---- bugs it stops at --------------------------------------------------------------------------

TEST_CASE("cuda emulator: host code that dereferences device memory faults, with a message") {
  const Death d = run_in_child(
      [] {
        float* p = device_alloc<float>(4);
        volatile float x = *p;  // a host read of device memory
        (void)x;
      },
      SIGSEGV);
  CHECK(d.died);
  CHECK_MESSAGE(d.stderr_text.find("host code dereferenced device memory") != std::string::npos, d.stderr_text);
}

TEST_CASE("cuda emulator: a kernel given a host pointer stops the emulator at the launch") {
  const Death d = run_in_child(
      [] {
        static int host[32];
        store_one<<<1, 32>>>(host);
      },
      SIGABRT);
  CHECK(d.died);
  CHECK_MESSAGE(d.stderr_text.find("is a host pointer") != std::string::npos, d.stderr_text);
  CHECK_MESSAGE(d.stderr_text.find("self_test.cu:") != std::string::npos, d.stderr_text);  // the launch site
}

TEST_CASE("cuda emulator: a barrier some threads never reach is a deadlock, reported with its launch") {
  const Death d = run_in_child(
      [] {
        int* out = device_alloc<int>(64);
        warp_and_block_barrier<<<1, 64>>>(out);
      },
      SIGABRT);
  CHECK(d.died);
  CHECK_MESSAGE(d.stderr_text.find("deadlock in block (0,0,0)") != std::string::npos, d.stderr_text);
  CHECK_MESSAGE(d.stderr_text.find("wait at __syncthreads") != std::string::npos, d.stderr_text);
}

TEST_CASE("cuda emulator: a shuffle from a lane that does not take part stops the emulator") {
  const Death d = run_in_child(
      [] {
        int* out = device_alloc<int>(32);
        shuffle_from_absent_lane<<<1, 32>>>(out);
      },
      SIGABRT);
  CHECK(d.died);
  CHECK_MESSAGE(d.stderr_text.find("which does not take part") != std::string::npos, d.stderr_text);
}

TEST_CASE("cuda emulator: a cuBLAS matrix that reaches outside its allocation stops the emulator") {
  const Death d = run_in_child(
      [] {
        cublasHandle_t h;
        cublasCreate(&h);
        float* a = device_alloc<float>(8);  // 4 x 4 needs 16
        float* c = device_alloc<float>(16);
        const float one = 1, zero = 0;
        cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a, 4, 0, a, 4, 0, &zero, c, 4, 0, 1);
      },
      SIGABRT);
  CHECK(d.died);
  CHECK_MESSAGE(d.stderr_text.find("matrix A (4 x 4, ld 4") != std::string::npos, d.stderr_text);
}
