// For the HDF5 targets: after each input (parsed or refused with a cfx::Error) no HDF5 object
// may stay open. A leaked file, dataset or type id would keep the file open and its memory
// held, which LeakSanitizer cannot report (the memory is libhdf5's; fuzz/lsan.supp).
#pragma once

#include <hdf5.h>

#include <cstdio>
#include <cstdlib>

namespace cfx::fuzz {

struct NoOpenHdf5Ids {
  ~NoOpenHdf5Ids() {  // runs on the error path too (during unwinding): abort, never throw
    const ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open != 0) {
      std::fprintf(stderr, "fuzz: the reader left %zd HDF5 object(s) open\n", open);
      std::abort();
    }
  }
};

}  // namespace cfx::fuzz
