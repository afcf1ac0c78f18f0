#pragma once
// CFX_STATIC_TLS: put a hot thread-local (grad mode, anomaly mode, the kernel-call log) in the
// static TLS block, so that reading it is one %fs-relative load.
//
// libconflux is a shared library, and by default a thread_local there uses the general-dynamic
// model: every read is a call to __tls_get_addr (~20 instructions), paid by every recorded op
// even with anomaly mode off. The initial-exec model skips that call. It requires the library
// to be loaded when the program starts (it is: programs link it) or, if dlopen()ed, glibc's
// static-TLS reserve to have room for these few bytes (it does: it keeps ~1.6 KB for this).
// nvcc's front end rejects the attribute, so .cu files see plain declarations and read these
// through __tls_get_addr: slower, still correct (the model only picks the access sequence).
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define CFX_STATIC_TLS [[gnu::tls_model("initial-exec")]]
#else
#define CFX_STATIC_TLS
#endif
