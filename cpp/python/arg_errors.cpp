// One translation layer for arguments of the wrong type. pybind11 reports them in its own words
// ("incompatible function arguments. The following argument types are supported: ...", "Unable
// to cast Python instance of type <class 'float'> to C++ type '?'"), raised inside its dispatcher
// where no exception translator sees them. Every function, method and property of the module is
// therefore wrapped, once the bindings are complete, in a callable that forwards the call through
// vectorcall and, only when it fails with such a TypeError, raises one that names the function,
// the argument types it got and the signatures it takes. A call that succeeds costs one extra
// indirection; functions other branches add are covered because the wrap walks the module.
#include <string>
#include <vector>

#include "bindings.hpp"
// After Python.h (through pybind11): T_PYSSIZET and READONLY for the vectorcall offset member.
#include <structmember.h>

namespace backprop::python {
namespace {

struct Checked {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  PyObject* fn;    // the pybind11 function
  PyObject* name;  // "backprop.add", "Tensor.sum", "Tensor.grad (setter)"
};

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

bool is_binding_message(const std::string& msg) {
  return contains(msg, "incompatible function arguments") || contains(msg, "incompatible constructor arguments") ||
         contains(msg, "Unable to cast") || contains(msg, "C++ type") || contains(msg, "pybind11");
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

// A signature as users read it: Python type names without module prefixes.
std::string clean_signature(std::string sig) {
  for (const char* prefix : {"backprop._core.", "typing.", "collections.abc.", "pybind11_builtins.", "numpy.typing."})
    replace_all(sig, prefix, "");
  replace_all(sig, "SupportsInt", "int");
  replace_all(sig, "SupportsFloat", "float");
  replace_all(sig, "SupportsIndex", "int");
  replace_all(sig, "int | int", "int");
  replace_all(sig, "float | float", "float");
  size_t start = sig.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : sig.substr(start);
}

// The signatures pybind11 wrote into the function's docstring: one line per overload.
std::vector<std::string> signatures(PyObject* fn) {
  std::vector<std::string> out;
  PyObject* doc = PyObject_GetAttrString(fn, "__doc__");
  if (doc == nullptr) {
    PyErr_Clear();
    return out;
  }
  if (PyUnicode_Check(doc)) {
    std::string text = PyUnicode_AsUTF8(doc) ? PyUnicode_AsUTF8(doc) : "";
    PyErr_Clear();
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      pos = end == std::string::npos ? text.size() : end + 1;
      size_t paren = line.find('(');
      bool numbered = !line.empty() && line[0] >= '0' && line[0] <= '9' && contains(line, ". ");
      if (numbered) line = line.substr(line.find(". ") + 2);
      if (paren == std::string::npos || contains(line, "(*args, **kwargs)") || !contains(line, ")")) continue;
      if (numbered || out.empty()) out.push_back(clean_signature(line));
      if (!numbered && out.size() == 1 && !contains(text, "Overloaded function")) break;
    }
  }
  Py_DECREF(doc);
  return out;
}

std::string python_type_name(PyObject* o) {
  std::string n = Py_TYPE(o)->tp_name;
  size_t dot = n.rfind('.');
  return dot == std::string::npos ? n : n.substr(dot + 1);
}

// The exception being raised, taken off the error indicator (PyErr_Fetch is deprecated from 3.12).
PyObject* take_exception() {
#if PY_VERSION_HEX >= 0x030C0000
  return PyErr_GetRaisedException();
#else
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (value && tb) PyException_SetTraceback(value, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  return value;
#endif
}

// Raises `exc` (a reference that this steals).
void raise_exception(PyObject* exc) {
#if PY_VERSION_HEX >= 0x030C0000
  PyErr_SetRaisedException(exc);
#else
  PyObject* type = reinterpret_cast<PyObject*>(Py_TYPE(exc));
  Py_INCREF(type);
  PyErr_Restore(type, exc, PyException_GetTraceback(exc));
#endif
}

void raise_clear(Checked* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* original = take_exception();
  if (original == nullptr) return;
  std::string msg;
  PyObject* s = PyObject_Str(original);
  if (s && PyUnicode_AsUTF8(s)) msg = PyUnicode_AsUTF8(s);
  Py_XDECREF(s);
  PyErr_Clear();
  if (!is_binding_message(msg)) {
    raise_exception(original);
    return;
  }
  std::string got;
  for (Py_ssize_t i = 0; i < nargs; ++i) got += (i ? ", " : "") + python_type_name(args[i]);
  if (kwnames) {
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(kwnames); ++k) {
      const char* key = PyUnicode_AsUTF8(PyTuple_GET_ITEM(kwnames, k));
      got += std::string(nargs + k ? ", " : "") + (key ? key : "?") + "=" + python_type_name(args[nargs + k]);
    }
    PyErr_Clear();
  }
  std::string text = std::string(PyUnicode_AsUTF8(self->name)) + "(): ";
  text += contains(msg, "Unable to cast") ? "an argument has a type it cannot take" : "invalid argument types";
  text += "; got (" + got + ")";
  std::vector<std::string> sigs = signatures(self->fn);
  if (sigs.size() == 1) {
    text += "; expected " + sigs[0];
  } else if (!sigs.empty()) {
    text += "; expected one of:";
    for (const auto& sig : sigs) text += "\n    " + sig;
  }
  PyObject* clear = PyObject_CallFunction(PyExc_TypeError, "s", text.c_str());
  if (clear == nullptr) {  // out of memory: the original is still an answer
    raise_exception(original);
    return;
  }
  // The original stays reachable as the context, for whoever debugs the bindings.
  PyException_SetContext(clear, original);
  raise_exception(clear);
}

PyObject* checked_vectorcall(PyObject* callable, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* self = reinterpret_cast<Checked*>(callable);
  PyObject* result = PyObject_Vectorcall(self->fn, args, nargsf, kwnames);
  if (result == nullptr && PyErr_ExceptionMatches(PyExc_TypeError))
    raise_clear(self, args, PyVectorcall_NARGS(nargsf), kwnames);
  return result;
}

void checked_dealloc(PyObject* o) {
  auto* self = reinterpret_cast<Checked*>(o);
  PyObject_GC_UnTrack(o);
  Py_CLEAR(self->fn);
  Py_CLEAR(self->name);
  PyTypeObject* tp = Py_TYPE(o);
  tp->tp_free(o);
  Py_DECREF(tp);
}

int checked_traverse(PyObject* o, visitproc visit, void* arg) {
  auto* self = reinterpret_cast<Checked*>(o);
  Py_VISIT(self->fn);
  Py_VISIT(Py_TYPE(o));
  return 0;
}

// Attributes (__doc__, __name__, __qualname__, __module__, __text_signature__) are the wrapped
// function's, so help() and introspection read as before; __wrapped__ is the function itself.
PyObject* checked_getattro(PyObject* o, PyObject* attr) {
  auto* self = reinterpret_cast<Checked*>(o);
  const char* name = PyUnicode_AsUTF8(attr);
  if (name && std::string(name) == "__wrapped__") {
    Py_INCREF(self->fn);
    return self->fn;
  }
  return PyObject_GetAttr(self->fn, attr);
}

PyObject* checked_repr(PyObject* o) {
  return PyUnicode_FromFormat("<built-in function %U>", reinterpret_cast<Checked*>(o)->name);
}

// Methods bind to the instance they are read from; the METHOD_DESCRIPTOR flag lets CPython call
// them unbound with the instance first, as it does for its own methods, with no bound object.
PyObject* method_descr_get(PyObject* self, PyObject* obj, PyObject*) {
  if (obj == nullptr || obj == Py_None) {
    Py_INCREF(self);
    return self;
  }
  return PyMethod_New(self, obj);
}

PyMemberDef checked_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(Checked, vectorcall), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyTypeObject* make_type(const char* name, bool method) {
  std::vector<PyType_Slot> slots = {
      {Py_tp_dealloc, reinterpret_cast<void*>(&checked_dealloc)},
      {Py_tp_traverse, reinterpret_cast<void*>(&checked_traverse)},
      {Py_tp_call, reinterpret_cast<void*>(&PyVectorcall_Call)},
      {Py_tp_getattro, reinterpret_cast<void*>(&checked_getattro)},
      {Py_tp_repr, reinterpret_cast<void*>(&checked_repr)},
      {Py_tp_members, checked_members},
  };
  if (method) slots.push_back({Py_tp_descr_get, reinterpret_cast<void*>(&method_descr_get)});
  slots.push_back({0, nullptr});
  unsigned flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL;
  if (method) flags |= Py_TPFLAGS_METHOD_DESCRIPTOR;
  PyType_Spec spec = {name, sizeof(Checked), 0, flags, slots.data()};
  PyObject* type = PyType_FromSpec(&spec);
  if (type == nullptr) throw py::error_already_set();
  return reinterpret_cast<PyTypeObject*>(type);
}

PyTypeObject* g_function_type = nullptr;
PyTypeObject* g_method_type = nullptr;

py::object wrap(py::handle fn, const std::string& name, bool method) {
  PyTypeObject* type = method ? g_method_type : g_function_type;
  auto* self = PyObject_GC_New(Checked, type);
  if (self == nullptr) throw py::error_already_set();
  self->vectorcall = &checked_vectorcall;
  self->fn = fn.inc_ref().ptr();
  self->name = PyUnicode_FromString(name.c_str());
  PyObject_GC_Track(self);
  if (self->name == nullptr) {
    Py_DECREF(self);
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(reinterpret_cast<PyObject*>(self));
}

bool is_wrapped(py::handle h) {
  return Py_TYPE(h.ptr()) == g_function_type || Py_TYPE(h.ptr()) == g_method_type;
}

void wrap_class(py::handle cls) {
  std::string cls_name = py::str(cls.attr("__name__"));
  py::dict members = py::reinterpret_borrow<py::dict>(py::handle(reinterpret_cast<PyTypeObject*>(cls.ptr())->tp_dict));
  std::vector<std::pair<std::string, py::object>> items;
  for (auto item : members) items.emplace_back(py::str(item.first), py::reinterpret_borrow<py::object>(item.second));
  py::object property = py::module_::import("builtins").attr("property");
  py::object staticmethod = py::module_::import("builtins").attr("staticmethod");
  for (auto& [key, value] : items) {
    std::string label = key == "__init__" ? cls_name : cls_name + "." + key;
    PyObject* v = value.ptr();
    if (PyInstanceMethod_Check(v)) {
      py::handle fn = PyInstanceMethod_GET_FUNCTION(v);
      if (PyCFunction_Check(fn.ptr())) cls.attr(key.c_str()) = wrap(fn, label, true);
    } else if (Py_TYPE(v) == &PyProperty_Type) {
      py::object fget = value.attr("fget"), fset = value.attr("fset");
      auto wrapped = [&](py::object f, const std::string& l) -> py::object {
        if (PyInstanceMethod_Check(f.ptr())) f = py::reinterpret_borrow<py::object>(PyInstanceMethod_GET_FUNCTION(f.ptr()));
        return PyCFunction_Check(f.ptr()) ? wrap(f, l, false) : f;
      };
      cls.attr(key.c_str()) = property(wrapped(fget, label), wrapped(fset, label + " (setter)"), value.attr("fdel"),
                                       value.attr("__doc__"));
    } else if (py::isinstance(value, staticmethod)) {
      py::object fn = value.attr("__func__");
      if (PyCFunction_Check(fn.ptr())) cls.attr(key.c_str()) = staticmethod(wrap(fn, label, false));
    }
  }
}

}  // namespace

void wrap_argument_errors(py::module_& m) {
  if (g_function_type == nullptr) {
    g_function_type = make_type("backprop._core.builtin_function", false);
    g_method_type = make_type("backprop._core.builtin_method", true);
  }
  std::string module_name = py::str(m.attr("__name__"));
  py::dict d = m.attr("__dict__");
  std::vector<std::pair<std::string, py::object>> items;
  for (auto item : d) items.emplace_back(py::str(item.first), py::reinterpret_borrow<py::object>(item.second));
  for (auto& [key, value] : items) {
    if (PyCFunction_Check(value.ptr()) && !is_wrapped(value)) {
      m.attr(key.c_str()) = wrap(value, "backprop." + key, false);
    } else if (PyType_Check(value.ptr()) && py::hasattr(value, "__module__") &&
               py::str(value.attr("__module__")).cast<std::string>() == module_name &&
               !PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(value.ptr()),
                                 reinterpret_cast<PyTypeObject*>(PyExc_BaseException))) {
      wrap_class(value);
    }
  }
}

}  // namespace backprop::python
