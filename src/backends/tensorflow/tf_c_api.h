// The part of TensorFlow's C API (tensorflow/c/c_api.h, tf_tensor.h, tf_status.h) this backend
// uses, declared by us from the public documentation so that nothing here needs TensorFlow to
// build: opaque handles, the enum values the ABI fixes, and one pointer type per function.
// The functions are resolved by name at run time (tf_library.h) into TensorFlowApi.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {
struct TF_Status;
struct TF_Graph;
struct TF_Operation;
struct TF_OperationDescription;
struct TF_Tensor;
struct TF_Session;
struct TF_SessionOptions;
struct TF_Buffer;
struct TF_DeviceList;
struct TF_ImportGraphDefOptions;

// An output of an operation: the C API passes it by value.
struct TF_Output {
  TF_Operation* oper;
  int index;
};
}

namespace cb::backends::tf {

// TF_DataType's values (types.proto's DataType); only those we use.
enum class DataType : int { float32 = 1, int32 = 3, int64 = 9, boolean = 10, resource = 20 };

// TF_Code's values (absl/grpc status codes).
enum class Code : int {
  ok = 0, cancelled = 1, unknown = 2, invalid_argument = 3, deadline_exceeded = 4,
  not_found = 5, already_exists = 6, permission_denied = 7, resource_exhausted = 8,
  failed_precondition = 9, aborted = 10, out_of_range = 11, unimplemented = 12,
  internal = 13, unavailable = 14, data_loss = 15, unauthenticated = 16
};

// Every C function we call, as a pointer filled by the loader (C enum parameters such as
// TF_DataType and TF_Code are int-sized in the C ABI, so they are declared as int); the X-macro keeps the list of
// names (for dlsym and error messages) and the table's members in one place.
#define CIFARBENCH_TF_FUNCTIONS(X)                                                            \
  X(TF_Version, const char* (*)())                                                           \
  X(TF_NewStatus, TF_Status* (*)())                                                          \
  X(TF_DeleteStatus, void (*)(TF_Status*))                                                   \
  X(TF_GetCode, int (*)(const TF_Status*))                                                   \
  X(TF_Message, const char* (*)(const TF_Status*))                                           \
  X(TF_NewGraph, TF_Graph* (*)())                                                            \
  X(TF_DeleteGraph, void (*)(TF_Graph*))                                                     \
  X(TF_GraphOperationByName, TF_Operation* (*)(TF_Graph*, const char*))                      \
  X(TF_NewOperation, TF_OperationDescription* (*)(TF_Graph*, const char*, const char*))      \
  X(TF_AddInput, void (*)(TF_OperationDescription*, TF_Output))                              \
  X(TF_SetAttrString, void (*)(TF_OperationDescription*, const char*, const void*, size_t))  \
  X(TF_SetAttrInt, void (*)(TF_OperationDescription*, const char*, int64_t))                 \
  X(TF_SetAttrIntList, void (*)(TF_OperationDescription*, const char*, const int64_t*, int)) \
  X(TF_SetAttrFloat, void (*)(TF_OperationDescription*, const char*, float))                 \
  X(TF_SetAttrBool, void (*)(TF_OperationDescription*, const char*, unsigned char))          \
  X(TF_SetAttrType, void (*)(TF_OperationDescription*, const char*, int))                    \
  X(TF_SetAttrShape, void (*)(TF_OperationDescription*, const char*, const int64_t*, int))   \
  X(TF_SetAttrTensor, void (*)(TF_OperationDescription*, const char*, TF_Tensor*, TF_Status*)) \
  X(TF_FinishOperation, TF_Operation* (*)(TF_OperationDescription*, TF_Status*))             \
  X(TF_AddGradients, void (*)(TF_Graph*, TF_Output*, int, TF_Output*, int, TF_Output*,       \
                              TF_Status*, TF_Output*))                                       \
  X(TF_AllocateTensor, TF_Tensor* (*)(int, const int64_t*, int, size_t))                     \
  X(TF_DeleteTensor, void (*)(TF_Tensor*))                                                   \
  X(TF_TensorData, void* (*)(const TF_Tensor*))                                              \
  X(TF_TensorByteSize, size_t (*)(const TF_Tensor*))                                         \
  X(TF_NumDims, int (*)(const TF_Tensor*))                                                   \
  X(TF_Dim, int64_t (*)(const TF_Tensor*, int))                                              \
  X(TF_NewSessionOptions, TF_SessionOptions* (*)())                                          \
  X(TF_DeleteSessionOptions, void (*)(TF_SessionOptions*))                                   \
  X(TF_SetConfig, void (*)(TF_SessionOptions*, const void*, size_t, TF_Status*))             \
  X(TF_NewSession, TF_Session* (*)(TF_Graph*, const TF_SessionOptions*, TF_Status*))         \
  X(TF_CloseSession, void (*)(TF_Session*, TF_Status*))                                      \
  X(TF_DeleteSession, void (*)(TF_Session*, TF_Status*))                                     \
  X(TF_SessionRun, void (*)(TF_Session*, const TF_Buffer*, const TF_Output*,                 \
                            TF_Tensor* const*, int, const TF_Output*, TF_Tensor**, int,      \
                            const TF_Operation* const*, int, TF_Buffer*, TF_Status*))        \
  X(TF_SessionListDevices, TF_DeviceList* (*)(TF_Session*, TF_Status*))                      \
  X(TF_DeviceListCount, int (*)(const TF_DeviceList*))                                       \
  X(TF_DeviceListName, const char* (*)(const TF_DeviceList*, int, TF_Status*))               \
  X(TF_DeviceListType, const char* (*)(const TF_DeviceList*, int, TF_Status*))               \
  X(TF_DeleteDeviceList, void (*)(TF_DeviceList*))                                           \
  X(TF_SetDevice, void (*)(TF_OperationDescription*, const char*))                           \
  X(TF_NewBuffer, TF_Buffer* (*)())                                                          \
  X(TF_DeleteBuffer, void (*)(TF_Buffer*))                                                   \
  X(TF_GraphToGraphDef, void (*)(TF_Graph*, TF_Buffer*, TF_Status*))                         \
  X(TF_NewImportGraphDefOptions, TF_ImportGraphDefOptions* (*)())                            \
  X(TF_DeleteImportGraphDefOptions, void (*)(TF_ImportGraphDefOptions*))                     \
  X(TF_ImportGraphDefOptionsSetDefaultDevice, void (*)(TF_ImportGraphDefOptions*, const char*)) \
  X(TF_GraphImportGraphDef, void (*)(TF_Graph*, const TF_Buffer*,                           \
                                     const TF_ImportGraphDefOptions*, TF_Status*))

// The resolved function table; every member is non-null once the loader returns it.
struct TensorFlowApi {
#define CIFARBENCH_TF_MEMBER(name, type) \
  using name##_fn = type;                 \
  name##_fn name = nullptr;
  CIFARBENCH_TF_FUNCTIONS(CIFARBENCH_TF_MEMBER)
#undef CIFARBENCH_TF_MEMBER
};

}  // namespace cb::backends::tf
