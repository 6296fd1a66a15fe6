/* Not TensorFlow: exports only TF_Version, reporting a release older than cifarbench accepts. */
const char* TF_Version(void) { return "1.15.0"; }
