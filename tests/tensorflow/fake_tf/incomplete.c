/* Not TensorFlow: a supported TF_Version and none of the other C API functions. */
const char* TF_Version(void) { return "2.15.0"; }
