/* Not TensorFlow: every C API function the backend resolves, doing just enough for a session to
 * be built, configured and run, and recording what it was asked (the ConfigProto each session
 * got, the device each operation was pinned to, open operation descriptions). Tests steer it
 * (fail TF_SetConfig, fail an attribute, withhold a gradient) through the fake_tf_* functions,
 * found with dlsym on the same handle the loader opened. Reports version 2.15.0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct TF_Status { int code; char message[256]; } TF_Status;
typedef struct TF_Operation { char name[160]; char type[64]; char device[64]; } TF_Operation;
typedef struct TF_Graph { int id; int count; TF_Operation* ops[4096]; } TF_Graph;
typedef struct TF_OperationDescription { TF_Graph* graph; TF_Operation* op; int failed; }
    TF_OperationDescription;
typedef struct TF_Tensor { int dtype; int dims; int64_t shape[8]; size_t bytes; void* data; }
    TF_Tensor;
typedef struct TF_SessionOptions { char config[1024]; size_t length; } TF_SessionOptions;
typedef struct TF_Session { TF_Graph* graph; } TF_Session;
typedef struct TF_DeviceList { int count; } TF_DeviceList;
typedef struct TF_Output { TF_Operation* oper; int index; } TF_Output;
typedef struct TF_Buffer { const void* data; size_t length; void (*data_deallocator)(void*, size_t); }
    TF_Buffer;
typedef struct TF_ImportGraphDefOptions { char default_device[64]; } TF_ImportGraphDefOptions;

/* ---- recording and steering ------------------------------------------------------------ */
static int graphs_made;
static int sessions_made;
static char session_configs[16][1024];
static size_t session_config_lengths[16];
static int session_graph_ids[16];
static int descriptions_open;
static char fail_set_config[256];
static char fail_tensor_attr[64];
static int null_gradient = -1;
static int gpu_count = 2;
static TF_Graph* graph_by_id[64];
static char last_run_fed[8192];     /* "name;name;..." of the last TF_SessionRun's feeds */
static char last_run_targets[32768]; /* the same for its target operations */

void fake_tf_fail_set_config(const char* message) {
  snprintf(fail_set_config, sizeof fail_set_config, "%s", message ? message : "");
}
void fake_tf_fail_tensor_attr(const char* attr) {
  snprintf(fail_tensor_attr, sizeof fail_tensor_attr, "%s", attr ? attr : "");
}
void fake_tf_null_gradient(int index) { null_gradient = index; }
void fake_tf_set_gpus(int n) { gpu_count = n; }
int fake_tf_sessions(void) { return sessions_made; }
int fake_tf_descriptions_open(void) { return descriptions_open; }
const char* fake_tf_session_config(int session, size_t* length) {
  if (session < 0 || session >= sessions_made || session >= 16) return NULL;
  *length = session_config_lengths[session];
  return session_configs[session];
}
int fake_tf_session_graph(int session) { return session_graph_ids[session]; }
/* The device of operation `name` in graph `graph` ("" when unpinned), or NULL. */
const char* fake_tf_device_of(int graph, const char* name) {
  if (graph < 0 || graph >= 64 || !graph_by_id[graph]) return NULL;
  for (int i = 0; i < graph_by_id[graph]->count; ++i) {
    if (strcmp(graph_by_id[graph]->ops[i]->name, name) == 0) return graph_by_id[graph]->ops[i]->device;
  }
  return NULL;
}
/* Whether the last TF_SessionRun fed placeholder `name` / ran target operation `name`. */
static int listed(const char* list, const char* name) {
  char key[200];
  snprintf(key, sizeof key, ";%s;", name);
  return strstr(list, key) != NULL;
}
int fake_tf_last_run_fed(const char* name) { return listed(last_run_fed, name); }
int fake_tf_last_run_targeted(const char* name) { return listed(last_run_targets, name); }
int fake_tf_operation_count(int graph) {
  return graph >= 0 && graph < 64 && graph_by_id[graph] ? graph_by_id[graph]->count : -1;
}

/* ---- the C API ------------------------------------------------------------------------- */
const char* TF_Version(void) { return "2.15.0"; }
TF_Status* TF_NewStatus(void) { return calloc(1, sizeof(TF_Status)); }
void TF_DeleteStatus(TF_Status* s) { free(s); }
int TF_GetCode(const TF_Status* s) { return s->code; }
const char* TF_Message(const TF_Status* s) { return s->message; }
static void set_error(TF_Status* s, const char* message) {
  s->code = 3; /* INVALID_ARGUMENT */
  snprintf(s->message, sizeof s->message, "%s", message);
}
static void set_ok(TF_Status* s) { s->code = 0; s->message[0] = 0; }

TF_Graph* TF_NewGraph(void) {
  TF_Graph* g = calloc(1, sizeof(TF_Graph));
  g->id = graphs_made++;
  if (g->id < 64) graph_by_id[g->id] = g;
  return g;
}
/* Graphs are kept (never freed) so that tests can inspect them after the session is gone. */
void TF_DeleteGraph(TF_Graph* g) { (void)g; }
TF_Operation* TF_GraphOperationByName(TF_Graph* g, const char* name) {
  for (int i = 0; i < g->count; ++i) {
    if (strcmp(g->ops[i]->name, name) == 0) return g->ops[i];
  }
  return NULL;
}
TF_OperationDescription* TF_NewOperation(TF_Graph* g, const char* type, const char* name) {
  TF_OperationDescription* d = calloc(1, sizeof(TF_OperationDescription));
  d->graph = g;
  d->op = calloc(1, sizeof(TF_Operation));
  snprintf(d->op->name, sizeof d->op->name, "%s", name);
  snprintf(d->op->type, sizeof d->op->type, "%s", type);
  ++descriptions_open;
  return d;
}
void TF_AddInput(TF_OperationDescription* d, TF_Output in) { if (!in.oper) d->failed = 1; }
void TF_SetAttrString(TF_OperationDescription* d, const char* n, const void* v, size_t l) {
  (void)d; (void)n; (void)v; (void)l;
}
void TF_SetAttrInt(TF_OperationDescription* d, const char* n, int64_t v) { (void)d; (void)n; (void)v; }
void TF_SetAttrIntList(TF_OperationDescription* d, const char* n, const int64_t* v, int k) {
  (void)d; (void)n; (void)v; (void)k;
}
void TF_SetAttrFloat(TF_OperationDescription* d, const char* n, float v) { (void)d; (void)n; (void)v; }
void TF_SetAttrBool(TF_OperationDescription* d, const char* n, unsigned char v) {
  (void)d; (void)n; (void)v;
}
void TF_SetAttrType(TF_OperationDescription* d, const char* n, int v) { (void)d; (void)n; (void)v; }
void TF_SetAttrShape(TF_OperationDescription* d, const char* n, const int64_t* v, int k) {
  (void)d; (void)n; (void)v; (void)k;
}
void TF_SetAttrTensor(TF_OperationDescription* d, const char* n, TF_Tensor* t, TF_Status* s) {
  (void)t;
  if (fail_tensor_attr[0] && strcmp(fail_tensor_attr, n) == 0) {
    d->failed = 1;
    set_error(s, "fake: this tensor attribute is refused");
    return;
  }
  set_ok(s);
}
void TF_SetDevice(TF_OperationDescription* d, const char* device) {
  snprintf(d->op->device, sizeof d->op->device, "%s", device);
}
/* Like TensorFlow's: deletes the description whether or not the operation is created. */
TF_Operation* TF_FinishOperation(TF_OperationDescription* d, TF_Status* s) {
  TF_Operation* op = d->op;
  --descriptions_open;
  if (d->failed || d->graph->count >= 4096) {
    set_error(s, "fake: incomplete operation");
    free(op);
    free(d);
    return NULL;
  }
  d->graph->ops[d->graph->count++] = op;
  free(d);
  set_ok(s);
  return op;
}
void TF_AddGradients(TF_Graph* g, TF_Output* y, int ny, TF_Output* x, int nx, TF_Output* dx,
                     TF_Status* s, TF_Output* dy) {
  (void)y; (void)ny; (void)dx;
  for (int i = 0; i < nx; ++i) {
    /* a stand-in gradient operation, added without a device as TensorFlow adds them */
    dy[i].oper = NULL;
    dy[i].index = 0;
    if (i == null_gradient || g->count >= 4096) continue;
    TF_Operation* op = calloc(1, sizeof(TF_Operation));
    snprintf(op->name, sizeof op->name, "gradients/%s", x[i].oper->name);
    snprintf(op->type, sizeof op->type, "%s", "FakeGradient");
    g->ops[g->count++] = op;
    dy[i].oper = op;
  }
  set_ok(s);
}
/* The fake's "GraphDef" is a pointer to the graph itself. */
TF_Buffer* TF_NewBuffer(void) { return calloc(1, sizeof(TF_Buffer)); }
void TF_DeleteBuffer(TF_Buffer* b) { free(b); }
void TF_GraphToGraphDef(TF_Graph* g, TF_Buffer* out, TF_Status* s) {
  out->data = g;
  out->length = sizeof(TF_Graph*);
  set_ok(s);
}
TF_ImportGraphDefOptions* TF_NewImportGraphDefOptions(void) {
  return calloc(1, sizeof(TF_ImportGraphDefOptions));
}
void TF_DeleteImportGraphDefOptions(TF_ImportGraphDefOptions* o) { free(o); }
void TF_ImportGraphDefOptionsSetDefaultDevice(TF_ImportGraphDefOptions* o, const char* device) {
  snprintf(o->default_device, sizeof o->default_device, "%s", device);
}
/* Copies every operation; one without a device gets the default device. */
void TF_GraphImportGraphDef(TF_Graph* g, const TF_Buffer* def, const TF_ImportGraphDefOptions* o,
                            TF_Status* s) {
  const TF_Graph* source = def->data;
  for (int i = 0; i < source->count && g->count < 4096; ++i) {
    TF_Operation* op = malloc(sizeof(TF_Operation));
    *op = *source->ops[i];
    if (!op->device[0]) snprintf(op->device, sizeof op->device, "%s", o->default_device);
    g->ops[g->count++] = op;
  }
  set_ok(s);
}
TF_Tensor* TF_AllocateTensor(int dtype, const int64_t* dims, int n, size_t bytes) {
  TF_Tensor* t = calloc(1, sizeof(TF_Tensor));
  t->dtype = dtype;
  t->dims = n < 8 ? n : 8;
  for (int i = 0; i < t->dims; ++i) t->shape[i] = dims[i];
  t->bytes = bytes;
  t->data = calloc(bytes ? bytes : 1, 1);
  return t;
}
void TF_DeleteTensor(TF_Tensor* t) {
  if (!t) return;
  free(t->data);
  free(t);
}
void* TF_TensorData(const TF_Tensor* t) { return t->data; }
size_t TF_TensorByteSize(const TF_Tensor* t) { return t->bytes; }
int TF_NumDims(const TF_Tensor* t) { return t->dims; }
int64_t TF_Dim(const TF_Tensor* t, int i) { return t->shape[i]; }
TF_SessionOptions* TF_NewSessionOptions(void) { return calloc(1, sizeof(TF_SessionOptions)); }
void TF_DeleteSessionOptions(TF_SessionOptions* o) { free(o); }
void TF_SetConfig(TF_SessionOptions* o, const void* proto, size_t length, TF_Status* s) {
  if (fail_set_config[0]) {
    set_error(s, fail_set_config);
    return;
  }
  if (length > sizeof o->config) length = sizeof o->config;
  memcpy(o->config, proto, length);
  o->length = length;
  set_ok(s);
}
TF_Session* TF_NewSession(TF_Graph* g, const TF_SessionOptions* o, TF_Status* s) {
  if (sessions_made < 16) {
    memcpy(session_configs[sessions_made], o->config, o->length);
    session_config_lengths[sessions_made] = o->length;
    session_graph_ids[sessions_made] = g->id;
  }
  ++sessions_made;
  TF_Session* session = calloc(1, sizeof(TF_Session));
  session->graph = g;
  set_ok(s);
  return session;
}
void TF_CloseSession(TF_Session* session, TF_Status* s) { (void)session; set_ok(s); }
void TF_DeleteSession(TF_Session* session, TF_Status* s) { free(session); set_ok(s); }
static void append(char* list, size_t size, const char* name) {
  const size_t used = strlen(list);
  snprintf(list + used, size - used, "%s;", name);
}
/* Runs nothing: records the feeds and targets; every fetched output is 4096 float zeros (enough
 * for the logits of a small batch). */
void TF_SessionRun(TF_Session* session, const void* run_options, const TF_Output* inputs,
                   TF_Tensor* const* values, int ninputs, const TF_Output* outputs,
                   TF_Tensor** results, int noutputs, const TF_Operation* const* targets,
                   int ntargets, void* metadata, TF_Status* s) {
  (void)session; (void)run_options; (void)values; (void)metadata; (void)outputs;
  strcpy(last_run_fed, ";");
  strcpy(last_run_targets, ";");
  for (int i = 0; i < ninputs; ++i) append(last_run_fed, sizeof last_run_fed, inputs[i].oper->name);
  for (int i = 0; i < ntargets; ++i) {
    append(last_run_targets, sizeof last_run_targets, targets[i]->name);
  }
  for (int i = 0; i < noutputs; ++i) {
    const int64_t n = 4096;
    results[i] = TF_AllocateTensor(1, &n, 1, 4096 * sizeof(float));
  }
  set_ok(s);
}
TF_DeviceList* TF_SessionListDevices(TF_Session* session, TF_Status* s) {
  (void)session;
  TF_DeviceList* list = calloc(1, sizeof(TF_DeviceList));
  list->count = 1 + gpu_count;
  set_ok(s);
  return list;
}
int TF_DeviceListCount(const TF_DeviceList* list) { return list->count; }
static char device_name[64];
const char* TF_DeviceListName(const TF_DeviceList* list, int i, TF_Status* s) {
  (void)list;
  set_ok(s);
  if (i == 0) return "/job:localhost/replica:0/task:0/device:CPU:0";
  snprintf(device_name, sizeof device_name, "/job:localhost/replica:0/task:0/device:GPU:%d", i - 1);
  return device_name;
}
const char* TF_DeviceListType(const TF_DeviceList* list, int i, TF_Status* s) {
  (void)list;
  set_ok(s);
  return i == 0 ? "CPU" : "GPU";
}
void TF_DeleteDeviceList(TF_DeviceList* list) { free(list); }
