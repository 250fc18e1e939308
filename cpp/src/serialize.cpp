// save/load of named tensors in the safetensors layout (little-endian hosts).
//
// load() treats every file as hostile: the header is bounded, validated as UTF-8 and parsed by a
// strict single-pass reader, and the whole table of entries is checked against the
// specification (unique names, dtypes and shapes that agree with their byte ranges, ranges that
// tile the data section exactly) before a single tensor is allocated, so a malformed file costs
// at most the time and memory of reading its header.
#include "backprop/serialize.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <numeric>
#include <string_view>
#include <tuple>

#include "backprop/autograd.hpp"
#include "json.hpp"
#include "tensor_impl.hpp"

namespace backprop {
namespace {

// The specification's bound on the header; it also bounds what a hostile file can make us parse.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// read()/write() move at most about 2 GiB per call on Linux; larger tensors go in pieces.
constexpr size_t kIoChunk = size_t{1} << 30;

const char* safetensors_dtype(DType d) {
  switch (d) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::Bool: return "BOOL";
  }
  return "F32";
}

bool parse_dtype(const std::string& s, DType* out) {
  if (s == "F32") *out = DType::Float32;
  else if (s == "F64") *out = DType::Float64;
  else if (s == "I64") *out = DType::Int64;
  else if (s == "BOOL") *out = DType::Bool;
  else return false;
  return true;
}

// A name from a file, for a message: quoted, escaped, and cut short (at a character boundary)
// because a hostile name can be megabytes long.
std::string shown(std::string_view s) {
  constexpr size_t kMax = 80;
  if (s.size() <= kMax) return json::quote(s);
  size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return json::quote(s.substr(0, cut)) + "...";
}

std::string os_error(int err) { return std::strerror(err); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the result (a deferred write error can surface here).
  int close() {
    int r = ::close(fd_);
    fd_ = -1;
    return r;
  }

 private:
  int fd_;
};

// Reads exactly n bytes at `offset`; false (errno 0 for end of file) when it cannot.
bool read_exact(int fd, void* dst, size_t n, uint64_t offset) {
  auto* p = static_cast<char*>(dst);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, std::min(n, kIoChunk), static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (got == 0) {
      errno = 0;
      return false;
    }
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

bool write_all(int fd, const void* src, size_t n) {
  const auto* p = static_cast<const char*>(src);
  while (n > 0) {
    ssize_t put = ::write(fd, p, std::min(n, kIoChunk));
    if (put < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += put;
    n -= static_cast<size_t>(put);
  }
  return true;
}

// ---- load ----------------------------------------------------------------------------------

struct Entry {
  std::string name;
  DType dtype = DType::Float32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

[[noreturn]] void invalid(const std::string& path, const std::string& what) {
  throw SerializationError("load: '" + path + "' is not a valid safetensors file: " + what);
}

class HeaderParser {
 public:
  HeaderParser(const std::string& path, std::string_view text) : path_(path), r_(text) {}

  [[noreturn]] void bad(const std::string& what) const { invalid(path_, what); }

  void parse(std::vector<Entry>* entries, std::map<std::string, std::string>* metadata) {
    try {
      r_.begin_object();
      std::string key;
      bool have_metadata = false;
      while (r_.next_member(&key)) {
        if (key == "__metadata__") {
          if (have_metadata) bad("\"__metadata__\" appears twice in the header");
          have_metadata = true;
          read_metadata(metadata);
        } else {
          entries->push_back(read_entry(std::move(key)));
        }
      }
      if (!r_.at_end()) r_.fail("more text after the header object");
    } catch (const json::Error& e) {
      bad(std::string("the header is not valid JSON (") + e.what() + ")");
    }
  }

 private:
  const std::string& path_;
  json::Reader r_;

  void read_metadata(std::map<std::string, std::string>* metadata) {
    if (r_.null()) return;
    if (r_.peek() != '{') bad("\"__metadata__\" is not an object mapping strings to strings");
    r_.begin_object();
    std::string key;
    while (r_.next_member(&key)) {
      if (r_.peek() != '"') bad("the metadata value for " + shown(key) + " is not a string");
      std::string value = r_.string();
      if (!metadata->emplace(key, std::move(value)).second)
        bad("the metadata key " + shown(key) + " appears twice");
    }
  }

  Entry read_entry(std::string name) {
    Entry e;
    e.name = std::move(name);
    const std::string who = "entry " + shown(e.name);
    if (r_.peek() != '{') bad(who + " is not an object with dtype, shape and data_offsets");
    r_.begin_object();
    bool has_dtype = false, has_shape = false, has_offsets = false;
    std::string field;
    auto once = [&](bool* seen) {
      if (*seen) bad(who + " has two \"" + field + "\" fields");
      *seen = true;
    };
    while (r_.next_member(&field)) {
      if (field == "dtype") {
        once(&has_dtype);
        if (r_.peek() != '"') bad(who + " has a dtype that is not a string");
        std::string d = r_.string();
        if (!parse_dtype(d, &e.dtype))
          bad(who + " has dtype " + shown(d) + ", which backprop cannot load (it loads F32, F64, I64 and BOOL)");
      } else if (field == "shape") {
        once(&has_shape);
        if (r_.peek() != '[') bad(who + " has a shape that is not a list of sizes");
        r_.begin_array();
        while (r_.next_element()) {
          if (e.shape.size() >= static_cast<size_t>(kMaxTensorDims))
            bad(who + " has more than " + std::to_string(kMaxTensorDims) + " dimensions");
          uint64_t d = r_.unsigned_integer();
          if (d > static_cast<uint64_t>(INT64_MAX)) bad(who + " has a size larger than 2**63-1 in its shape");
          e.shape.push_back(static_cast<int64_t>(d));
        }
      } else if (field == "data_offsets") {
        once(&has_offsets);
        if (r_.peek() != '[') bad(who + " has data_offsets that are not a list [begin, end]");
        r_.begin_array();
        uint64_t v[2];
        int n = 0;
        while (r_.next_element()) {
          if (n == 2) bad(who + " has more than two data_offsets");
          v[n++] = r_.unsigned_integer();
        }
        if (n != 2) bad(who + " has " + std::to_string(n) + " data_offsets instead of two");
        e.begin = v[0];
        e.end = v[1];
      } else {
        r_.skip_value();  // fields the specification may add later
      }
    }
    if (!has_dtype) bad(who + " has no dtype");
    if (!has_shape) bad(who + " has no shape");
    if (!has_offsets) bad(who + " has no data_offsets");
    return e;
  }
};

// The checks the specification makes on the table as a whole, before anything is allocated.
void check_entries(const HeaderParser& p, std::vector<Entry>& entries, uint64_t data_size,
                   std::vector<size_t>* by_offset) {
  for (const Entry& e : entries) {
    const std::string who = "entry " + shown(e.name);
    // Contiguous strides and byte counts must fit in int64 even where a size-0 dim makes the
    // element count 0, so sizes count as at least 1 here.
    uint64_t elem = element_size(e.dtype);
    int64_t span = static_cast<int64_t>(elem), numel = 1;
    for (int64_t d : e.shape) {
      if (__builtin_mul_overflow(span, std::max<int64_t>(d, 1), &span))
        p.bad(who + " has shape " + shape_str(e.shape) + ", too large to address");
      numel *= d;
    }
    uint64_t bytes = static_cast<uint64_t>(numel) * elem;
    std::string range = "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
    if (e.end < e.begin) p.bad(who + " has data_offsets " + range + " that end before they begin");
    if (e.end > data_size)
      p.bad(who + " has data_offsets " + range + " past the end of the " + std::to_string(data_size) +
            "-byte data section (truncated?)");
    if (e.end - e.begin != bytes)
      p.bad(who + " has dtype " + safetensors_dtype(e.dtype) + " and shape " + shape_str(e.shape) + ", which need " +
            std::to_string(bytes) + " bytes, but its data_offsets " + range + " hold " +
            std::to_string(e.end - e.begin));
  }

  std::vector<size_t> order(entries.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return entries[a].name < entries[b].name; });
  for (size_t i = 1; i < order.size(); ++i)
    if (entries[order[i]].name == entries[order[i - 1]].name)
      p.bad("entry " + shown(entries[order[i]].name) + " appears twice in the header");

  // The ranges must tile the data section: no overlap, no hole, nothing after the last one.
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(entries[a].begin, entries[a].end) < std::tie(entries[b].begin, entries[b].end);
  });
  uint64_t cursor = 0;
  const Entry* prev = nullptr;
  for (size_t i : order) {
    const Entry& e = entries[i];
    if (e.begin < cursor)
      p.bad("the data of entry " + shown(e.name) + " overlaps that of entry " + shown(prev->name));
    if (e.begin > cursor)
      p.bad("bytes " + std::to_string(cursor) + " to " + std::to_string(e.begin) +
            " of the data section belong to no tensor");
    cursor = e.end;
    prev = &e;
  }
  if (cursor != data_size)
    p.bad("the last " + std::to_string(data_size - cursor) + " bytes of the data section belong to no tensor");
  *by_offset = std::move(order);
}

// ---- save ----------------------------------------------------------------------------------

// Temporary files live next to the target so that rename() is atomic, and are named
// ".<target>.backprop-tmp.<host>.<pid>.<n>": unique among concurrent writers, and recognisable by
// the next save to the same target, which removes those whose writer (same host, pid gone) died.
struct TempNames {
  std::string dir;
  std::string prefix;  // up to and including the '.' before the pid
};

TempNames temp_names(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..")
    throw SerializationError("save: '" + path + "' names a directory; give the path of a file");
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = 0;
  std::string h;
  for (const char* c = host; *c && h.size() < 32; ++c)
    h += (std::isalnum(static_cast<unsigned char>(*c)) || *c == '-') ? *c : '_';
  // Keeps the name within NAME_MAX however long the target's name is.
  return {dir, "." + base.substr(0, 160) + ".backprop-tmp." + h + "."};
}

void remove_stale_temps(const TempNames& names) {
  DIR* d = ::opendir(names.dir.c_str());
  if (!d) return;
  const pid_t self = ::getpid();
  while (dirent* ent = ::readdir(d)) {
    std::string_view name = ent->d_name;
    if (name.size() <= names.prefix.size() || name.compare(0, names.prefix.size(), names.prefix) != 0) continue;
    std::string_view rest = name.substr(names.prefix.size());
    size_t dot = rest.find('.');
    if (dot == 0 || dot == std::string_view::npos || dot > 9 || dot + 1 == rest.size()) continue;
    if (rest.find_first_not_of("0123456789.") != std::string_view::npos) continue;
    long long pid = 0;
    for (char c : rest.substr(0, dot)) pid = pid * 10 + (c - '0');
    // pid 0 or a negative one would make kill() address process groups.
    if (pid <= 0 || pid > INT_MAX || pid == self) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    ::unlinkat(::dirfd(d), ent->d_name, 0);
  }
  ::closedir(d);
}

// Removes the temporary file unless the save got as far as renaming it.
struct TempFile {
  std::string path;
  bool committed = false;
  ~TempFile() {
    if (!committed) ::unlink(path.c_str());
  }
};

void require_utf8(std::string_view s, const char* what) {
  if (json::invalid_utf8_at(s) != std::string_view::npos)
    throw SerializationError(std::string("save: ") + what +
                             " is not valid UTF-8; safetensors names and metadata are UTF-8 strings");
}

}  // namespace

void save(const std::map<std::string, Tensor>& tensors, const std::string& path,
          const std::map<std::string, std::string>& metadata) {
  NoGradGuard no_grad;
  if (path.empty()) throw SerializationError("save: the path is empty");
  if (path.find('\0') != std::string::npos) throw SerializationError("save: the path contains a NUL byte");
  std::vector<Tensor> data;
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool mfirst = true;
    for (const auto& [k, v] : metadata) {
      require_utf8(k, "a metadata key");
      require_utf8(v, "a metadata value");
      header += (mfirst ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      mfirst = false;
    }
    header += "}";
    first = false;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) throw ValueError("save: tensor '" + name + "' is undefined");
    if (name == "__metadata__") throw ValueError("save: '__metadata__' is reserved and cannot name a tensor");
    require_utf8(name, "a tensor name");
    Tensor c = t.contiguous();
    uint64_t bytes = static_cast<uint64_t>(c.numel()) * element_size(c.dtype());
    header += (first ? "" : ",") + json::quote(name) + ":{\"dtype\":\"" + safetensors_dtype(c.dtype()) +
              "\",\"shape\":[";
    for (size_t i = 0; i < c.shape().size(); ++i) header += (i ? "," : "") + std::to_string(c.shape()[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    first = false;
    offset += bytes;
    data.push_back(c);
  }
  header += "}";
  // The data section starts 8-byte aligned, as the safetensors package writes it.
  while ((header.size() % 8) != 0) header += ' ';
  if (header.size() > kMaxHeaderBytes)
    throw SerializationError("save: the header for '" + path + "' would take " + std::to_string(header.size()) +
                             " bytes, more than the 100 MB safetensors allows; save fewer, larger tensors");

  TempNames names = temp_names(path);
  remove_stale_temps(names);
  static std::atomic<uint64_t> counter{0};
  TempFile tmp{names.dir + "/" + names.prefix + std::to_string(::getpid()) + "." + std::to_string(counter++)};
  Fd fd(::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (fd.get() < 0) {
    int err = errno;
    tmp.committed = true;  // nothing was created, so there is nothing to remove
    throw SerializationError("save: cannot create a temporary file next to '" + path + "': " + os_error(err));
  }
  auto failed = [&](const char* doing) {
    throw SerializationError(std::string("save: ") + doing + " '" + path + "' failed: " + os_error(errno));
  };
  uint64_t n = header.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xFF);
  if (!write_all(fd.get(), len, 8) || !write_all(fd.get(), header.data(), header.size())) failed("writing");
  for (const Tensor& c : data)
    if (!write_all(fd.get(), c.data_ptr(), static_cast<size_t>(c.numel()) * element_size(c.dtype())))
      failed("writing");
  if (::fsync(fd.get()) != 0) failed("flushing");
  if (fd.close() != 0) failed("closing");
  // rename() replaces the old file in one step: readers see the old file or the new one.
  if (std::rename(tmp.path.c_str(), path.c_str()) != 0) failed("moving the new file into place at");
  tmp.committed = true;
  // The rename is durable only once the directory itself reaches the disk. Filesystems that
  // cannot sync a directory say EINVAL; a directory we cannot open leaves nothing to sync.
  Fd dir(::open(names.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0 && ::fsync(dir.get()) != 0 && errno != EINVAL && errno != ENOTSUP)
    failed("syncing the directory of");
}

std::map<std::string, Tensor> load(const std::string& path, std::map<std::string, std::string>* metadata) {
  if (path.find('\0') != std::string::npos) throw SerializationError("load: the path contains a NUL byte");
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) throw SerializationError("load: cannot open '" + path + "': " + os_error(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw SerializationError("load: cannot stat '" + path + "': " + os_error(errno));
  if (S_ISDIR(st.st_mode)) throw SerializationError("load: '" + path + "' is a directory, not a safetensors file");
  if (!S_ISREG(st.st_mode))
    throw SerializationError("load: '" + path +
                             "' is not a regular file (a pipe, socket or device); save to a file and load that");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  auto bad = [&](const std::string& what) { invalid(path, what); };
  auto read_failed = [&](const std::string& what) {
    int err = errno;
    bad(what + (err ? ": " + os_error(err) : std::string(" (the file ended early; was it truncated?)")));
  };

  if (file_size < 8)
    bad("it is " + std::to_string(file_size) + " bytes long, shorter than the 8-byte header length (truncated?)");
  unsigned char len[8];
  if (!read_exact(fd.get(), len, 8, 0)) read_failed("reading the header length failed");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > kMaxHeaderBytes)
    bad("its header length is " + std::to_string(n) + " bytes, more than the 100 MB the format allows");
  if (n > file_size - 8)
    bad("its header length " + std::to_string(n) + " runs past the end of the " + std::to_string(file_size) +
        "-byte file (truncated?)");
  std::string header(static_cast<size_t>(n), '\0');
  if (!read_exact(fd.get(), header.data(), header.size(), 8)) read_failed("reading the header failed");
  if (header.empty() || header[0] != '{') bad("the header does not start with '{'");
  size_t bad_byte = json::invalid_utf8_at(header);
  if (bad_byte != std::string_view::npos)
    bad("the header is not valid UTF-8 (byte " + std::to_string(bad_byte) + " of the header)");

  HeaderParser parser(path, header);
  std::vector<Entry> entries;
  std::map<std::string, std::string> meta;
  parser.parse(&entries, &meta);
  header = std::string();  // the entries own their names now
  const uint64_t data_start = 8 + n, data_size = file_size - data_start;
  std::vector<size_t> by_offset;
  check_entries(parser, entries, data_size, &by_offset);

  std::map<std::string, Tensor> out;
  for (size_t i : by_offset) {  // file order: one forward pass over the data
    Entry& e = entries[i];
    Tensor t = make_tensor(e.shape, e.dtype);
    size_t bytes = static_cast<size_t>(e.end - e.begin);
    if (bytes > 0 && !read_exact(fd.get(), t.data_ptr(), bytes, data_start + e.begin))
      read_failed("reading entry " + shown(e.name) + " failed");
    if (e.dtype == DType::Bool) {
      // Any byte but 0 or 1 would be an invalid bool for every kernel that reads it.
      auto* b = static_cast<unsigned char*>(t.data_ptr());
      for (size_t k = 0; k < bytes; ++k) b[k] = b[k] != 0;
    }
    out.emplace(std::move(e.name), std::move(t));
  }
  if (metadata) *metadata = std::move(meta);
  return out;
}

}  // namespace backprop
