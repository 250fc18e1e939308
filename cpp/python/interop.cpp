// Zero-copy exchange with NumPy (buffer views both ways) and any DLPack producer or consumer.
#include <pybind11/numpy.h>

#include <cstring>

#include "bindings.hpp"

namespace backprop::python {
namespace {

// ---- the DLPack ABI (dlpack.h, versions 0.8 and 1.x) -----------------------------------------
struct DLDevice {
  int32_t device_type;
  int32_t device_id;
};
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor*);
};
struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned*);
  uint64_t flags;
  DLTensor dl_tensor;
};
constexpr int32_t kDLCPU = 1;
constexpr uint8_t kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBool = 6;
constexpr uint64_t kDLFlagReadOnly = 1;

// What an exported tensor keeps alive until the consumer calls the deleter.
struct ExportContext {
  Tensor tensor;
  Shape shape, strides;
};

DLDataType to_dl(DType d) {
  switch (d) {
    case DType::Float32: return {kDLFloat, 32, 1};
    case DType::Float64: return {kDLFloat, 64, 1};
    case DType::Int64: return {kDLInt, 64, 1};
    case DType::Bool: return {kDLBool, 8, 1};
  }
  return {kDLFloat, 32, 1};
}

DType from_dl(DLDataType t) {
  if (t.lanes != 1) throw TypeError("from_dlpack: vector (multi-lane) dtypes are not supported");
  if (t.code == kDLFloat && t.bits == 32) return DType::Float32;
  if (t.code == kDLFloat && t.bits == 64) return DType::Float64;
  if (t.code == kDLInt && t.bits == 64) return DType::Int64;
  if ((t.code == kDLBool || t.code == kDLUInt) && t.bits == 8 && t.code == kDLBool) return DType::Bool;
  throw TypeError("from_dlpack: unsupported dtype (code " + std::to_string(t.code) + ", " + std::to_string(t.bits) +
                  " bits); backprop supports float32, float64, int64 and bool");
}

void fill_dl(DLTensor& dl, ExportContext* ctx) {
  const Tensor& t = ctx->tensor;
  dl.data = t.data_ptr();
  dl.device = {kDLCPU, 0};
  dl.ndim = static_cast<int32_t>(t.dim());
  dl.dtype = to_dl(t.dtype());
  dl.shape = ctx->shape.data();
  dl.strides = ctx->strides.data();
  dl.byte_offset = 0;
}

py::capsule export_dlpack(const Tensor& t, bool versioned) {
  if (t.requires_grad())
    throw RuntimeError("__dlpack__: can't export a tensor that requires grad; use tensor.detach() first");
  auto* ctx = new ExportContext{t, t.shape(), t.strides()};
  if (versioned) {
    auto* m = new DLManagedTensorVersioned{};
    m->version = {1, 0};
    m->manager_ctx = ctx;
    m->flags = t.is_read_only() ? kDLFlagReadOnly : 0;
    m->deleter = [](DLManagedTensorVersioned* self) {
      delete static_cast<ExportContext*>(self->manager_ctx);
      delete self;
    };
    fill_dl(m->dl_tensor, ctx);
    return py::capsule(m, "dltensor_versioned", [](PyObject* cap) {
      if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
        auto* p = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, "dltensor_versioned"));
        if (p && p->deleter) p->deleter(p);
      }
    });
  }
  auto* m = new DLManagedTensor{};
  m->manager_ctx = ctx;
  m->deleter = [](DLManagedTensor* self) {
    delete static_cast<ExportContext*>(self->manager_ctx);
    delete self;
  };
  fill_dl(m->dl_tensor, ctx);
  return py::capsule(m, "dltensor", [](PyObject* cap) {
    if (PyCapsule_IsValid(cap, "dltensor")) {
      auto* p = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
      if (p && p->deleter) p->deleter(p);
    }
  });
}

Tensor wrap_dl(const DLTensor& dl, std::function<void(void*)> release) {
  if (dl.device.device_type != kDLCPU)
    throw TypeError("from_dlpack: only CPU tensors can be imported (device type " +
                    std::to_string(dl.device.device_type) + ")");
  DType dtype = from_dl(dl.dtype);
  Shape shape(dl.shape, dl.shape + dl.ndim);
  Shape strides = dl.strides ? Shape(dl.strides, dl.strides + dl.ndim) : Shape();
  if (!dl.strides) {
    strides.assign(dl.ndim, 1);
    for (int i = dl.ndim - 2; i >= 0; --i) strides[i] = strides[i + 1] * std::max<int64_t>(shape[i + 1], 1);
  }
  for (int64_t s : strides)
    if (s < 0) throw ShapeError("from_dlpack: negative strides are not supported; make a copy first");
  char* data = static_cast<char*>(dl.data) + dl.byte_offset;
  return from_blob(data, shape, strides, dtype, std::move(release));
}

Tensor import_dlpack(py::object obj) {
  py::object capsule = obj;
  if (!PyCapsule_CheckExact(obj.ptr())) {
    if (!py::hasattr(obj, "__dlpack__"))
      throw TypeError("from_dlpack: expected an object with __dlpack__ or a DLPack capsule, got " +
                      type_name(obj));
    try {
      capsule = obj.attr("__dlpack__")(py::arg("max_version") = py::make_tuple(1, 0));
    } catch (py::error_already_set& e) {
      if (!e.matches(PyExc_TypeError)) throw;
      capsule = obj.attr("__dlpack__")();
    }
  }
  PyObject* cap = capsule.ptr();
  if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, "dltensor_versioned"));
    if (m->version.major > 1) throw TypeError("from_dlpack: DLPack version " + std::to_string(m->version.major) + " is not supported");
    Tensor t = wrap_dl(m->dl_tensor, [m](void*) {
      if (m->deleter) m->deleter(m);
    });
    PyCapsule_SetName(cap, "used_dltensor_versioned");
    if (m->flags & kDLFlagReadOnly) return t.clone();
    return t;
  }
  if (PyCapsule_IsValid(cap, "dltensor")) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
    Tensor t = wrap_dl(m->dl_tensor, [m](void*) {
      if (m->deleter) m->deleter(m);
    });
    PyCapsule_SetName(cap, "used_dltensor");
    return t;
  }
  throw TypeError("from_dlpack: the capsule is not an unused DLPack tensor");
}

// ---- NumPy ------------------------------------------------------------------------------------
DType dtype_of(const py::array& a) {
  char kind = a.dtype().kind();
  size_t size = a.itemsize();
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'i' && size == 8) return DType::Int64;
  if (kind == 'b') return DType::Bool;
  throw TypeError("from_numpy: unsupported NumPy dtype '" + std::string(py::str(a.dtype())) +
                  "'; convert with astype(np.float32), astype(np.float64), astype(np.int64) or astype(bool)");
}

py::dtype numpy_dtype(DType d) {
  switch (d) {
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Bool: return py::dtype::of<bool>();
  }
  return py::dtype::of<float>();
}

}  // namespace

void bind_interop(py::module_& m, py::class_<Tensor>& cls) {
  m.def(
      "from_numpy",
      [](py::array a) {
        char order = a.dtype().byteorder();
        constexpr bool native_little = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
        if ((order == '>' && native_little) || (order == '<' && !native_little))
          throw py::value_error("from_numpy: the array's byte order (dtype '" + std::string(py::str(a.dtype())) +
                                "') differs from this machine's; convert it first with "
                                "a.astype(a.dtype.newbyteorder('='))");
        DType dtype = dtype_of(a);
        size_t item = a.itemsize();
        Shape shape(a.shape(), a.shape() + a.ndim()), strides(a.ndim());
        for (py::ssize_t i = 0; i < a.ndim(); ++i) {
          if (a.strides(i) < 0)
            throw ShapeError("from_numpy: at least one stride in the given NumPy array is negative; pass a copy "
                             "(arr.copy())");
          if (a.strides(i) % static_cast<py::ssize_t>(item) != 0)
            throw ShapeError("from_numpy: strides that are not a multiple of the element size are not supported");
          strides[i] = a.strides(i) / static_cast<py::ssize_t>(item);
        }
        auto* keep = new py::object(a);
        // A read-only array (np.broadcast_to, a read-only memmap, np.frombuffer over bytes) stays
        // shared, but in-place writes through the tensor are refused rather than fault or corrupt it.
        bool read_only = !a.writeable();
        return from_blob(const_cast<void*>(a.data()), shape, strides, dtype, [keep](void*) {
          if (!Py_IsInitialized()) return;
          py::gil_scoped_acquire gil;
          delete keep;
        }, read_only);
      },
      py::arg("ndarray"));

  cls.def(
      "numpy",
      [](const Tensor& t, bool force) {
        if (t.requires_grad() && !force)
          throw RuntimeError("numpy: can't call numpy() on a Tensor that requires grad; use tensor.detach().numpy()");
        std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
        for (int64_t s : t.strides()) strides.push_back(static_cast<py::ssize_t>(s * element_size(t.dtype())));
        auto* keep = new std::shared_ptr<Storage>(t.storage());
        py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
        py::array out(numpy_dtype(t.dtype()), shape, strides, t.data_ptr(), base);
        if (t.is_read_only()) out.attr("flags").attr("writeable") = false;
        return out;
      },
      py::arg("force") = false);

  cls.def(
      "__dlpack__",
      [](const Tensor& t, py::object stream, py::object max_version, py::object dl_device, py::object copy) {
        if (!copy.is_none() && copy.cast<bool>()) {
          NoGradGuard g;
          return export_dlpack(t.detach().clone(), !max_version.is_none() && max_version[py::int_(0)].cast<int>() >= 1);
        }
        bool versioned = !max_version.is_none() && max_version[py::int_(0)].cast<int>() >= 1;
        // The legacy capsule cannot say "read-only", and its consumer may write: give it a copy.
        if (t.is_read_only() && !versioned) {
          NoGradGuard g;
          return export_dlpack(t.detach().clone(), false);
        }
        return export_dlpack(t, versioned);
      },
      py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
      py::arg("dl_device") = py::none(), py::arg("copy") = py::none());
  cls.def("__dlpack_device__", [](const Tensor&) { return py::make_tuple(kDLCPU, 0); });
  m.def("from_dlpack", &import_dlpack, py::arg("ext_tensor"));
}

}  // namespace backprop::python
