// dlib's CPU kernels do their heavy lifting (convolutions as im2col + GEMM, linear layers) in
// the system BLAS, which on Debian is OpenBLAS; its thread count is process-wide, so each
// trainer sets it before its own work. Looked up with dlsym: no link dependency on OpenBLAS.
#pragma once

#include <string>

namespace cb::backends::dlib_backend {

// Sets OpenBLAS's thread count (0 = every core) if this process's BLAS is OpenBLAS; returns
// false when the BLAS offers no such control (the count then stays the BLAS's default).
bool set_blas_threads(int threads);
// "OpenBLAS 0.3.21 ... (N threads)" or "unknown BLAS (no openblas_get_config)".
std::string blas_description();
// The thread count a trainer asking for `threads` gets (0 → every core).
int resolved_thread_count(int threads);

}  // namespace cb::backends::dlib_backend
