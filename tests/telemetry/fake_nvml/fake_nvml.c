/* A stand-in for libnvidia-ml.so.1 with one GPU and fixed readings. It exports only part of
 * NVML's API on purpose (no energy counter, SM clock or temperature), so the tests can check
 * that missing functions leave readings empty. Acceptable only because no CI machine has a GPU. */

typedef struct {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} FakeMemory;

typedef struct {
  unsigned int gpu;
  unsigned int memory;
} FakeUtilization;

static int fake_device = 0;
static int initialized = 0;

static void copy_text(char* out, unsigned length, const char* text) {
  unsigned i = 0;
  if (length == 0) return;
  for (; text[i] != '\0' && i + 1 < length; ++i) out[i] = text[i];
  out[i] = '\0';
}

int nvmlInit_v2(void) {
  initialized = 1;
  return 0;
}

int nvmlShutdown(void) {
  initialized = 0;
  return 0;
}

int nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!initialized) return 1; /* NVML_ERROR_UNINITIALIZED */
  *count = 1;
  return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (index != 0) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
  *device = &fake_device;
  return 0;
}

int nvmlDeviceGetName(void* device, char* name, unsigned int length) {
  (void)device;
  copy_text(name, length, "Fake GPU");
  return 0;
}

int nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  copy_text(version, length, "0.0-fake");
  return 0;
}

int nvmlDeviceGetUtilizationRates(void* device, FakeUtilization* utilization) {
  (void)device;
  utilization->gpu = 87;
  utilization->memory = 40;
  return 0;
}

int nvmlDeviceGetMemoryInfo(void* device, FakeMemory* memory) {
  (void)device;
  memory->total = 16ULL << 30;
  memory->used = 4ULL << 30;
  memory->free = memory->total - memory->used;
  return 0;
}

int nvmlDeviceGetPowerUsage(void* device, unsigned int* milliwatts) {
  (void)device;
  *milliwatts = 150000;
  return 0;
}
