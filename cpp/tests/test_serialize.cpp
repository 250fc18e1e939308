// save/load of named tensors (the safetensors layout shared with Python).
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "backprop/backprop.hpp"

namespace backprop {
namespace {

std::string temp_path(const std::string& name) { return ::testing::TempDir() + name; }

TEST(Serialize, RoundTripKeepsDtypesShapesAndValues) {
  manual_seed(4);
  std::map<std::string, Tensor> state{{"w", randn({3, 4})},
                                      {"b", randn({4}, DType::Float64)},
                                      {"steps", arange(0, 5)},
                                      {"mask", gt(randn({3}), scalar_tensor(0.0))},
                                      {"scalar", scalar_tensor(2.5)}};
  std::string path = temp_path("round_trip.safetensors");
  save(state, path, {{"format", "test"}});
  std::map<std::string, std::string> metadata;
  auto loaded = load(path, &metadata);
  EXPECT_EQ(metadata["format"], "test");
  ASSERT_EQ(loaded.size(), state.size());
  for (auto& [name, t] : state) {
    EXPECT_EQ(loaded[name].dtype(), t.dtype()) << name;
    EXPECT_EQ(loaded[name].shape(), t.shape()) << name;
    EXPECT_EQ(loaded[name].to_vector(), t.to_vector()) << name;
  }
}

TEST(Serialize, TruncatedAndMissingFilesThrowNamingTheFile) {
  std::string path = temp_path("whole.safetensors");
  save({{"w", ones({100})}}, path);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string cut = temp_path("cut.safetensors");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  try {
    load(cut);
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.safetensors"), std::string::npos);
  }
  EXPECT_THROW(load(temp_path("does_not_exist.safetensors")), RuntimeError);
}

// A file made of an 8-byte little-endian header length, `header`, and `data`.
std::string write_file(const std::string& name, const std::string& header, const std::string& data,
                       uint64_t length = UINT64_MAX) {
  std::string path = temp_path(name);
  uint64_t n = length == UINT64_MAX ? header.size() : length;
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  std::ofstream(path, std::ios::binary) << bytes << header << data;
  return path;
}

void expect_rejected(const std::string& path, const std::string& fragment) {
  try {
    load(path);
    FAIL() << "expected SerializationError for " << path;
  } catch (const SerializationError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
  }
}

TEST(Serialize, MalformedFilesThrowSerializationErrorNamingFileAndFault) {
  const std::string f4(4, '\0'), f8(8, '\0');
  const std::string e0 = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  const std::string e4 = R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})";
  const std::string e8 = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  expect_rejected(write_file("overlap.st", R"({"a":)" + e8 + R"(,"b":)" + e4 + "}", f8), "overlaps");
  expect_rejected(write_file("gap.st", R"({"a":)" + e4 + "}", f8), "belong to no tensor");
  expect_rejected(write_file("dup.st", R"({"a":)" + e0 + R"(,"a":)" + e4 + "}", f8), "appears twice");
  expect_rejected(write_file("array.st", "[]", ""), "start with '{'");
  expect_rejected(write_file("utf8.st", "{\"a\xff\":" + e0 + "}", f4), "UTF-8");
  expect_rejected(write_file("deep.st", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":)" +
                                            std::string(100000, '[') + std::string(100000, ']') + "}}",
                             f4),
                  "nested more than");
  const std::string huge = "4611686018427387904";  // 2**62
  const std::string dims = R"({"a":{"dtype":"F32","shape":[0,)" + huge + "," + huge + R"(],"data_offsets":[0,0]}})";
  expect_rejected(write_file("dims.st", dims, ""), "too large");
  expect_rejected(write_file("bytes.st", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,4]}})", f4),
                  "need 12 bytes");
  expect_rejected(write_file("meta.st", R"({"__metadata__":{"k":1}})", ""), "not a string");
  expect_rejected(write_file("huge.st", "{}", "", uint64_t{1} << 62), "100 MB");
  expect_rejected(write_file("past.st", R"({"a":)" + e0 + "}", ""), "past the end");
}

TEST(Serialize, NonFilesThrowSerializationError) {
  std::string dir = temp_path("a_directory");
  ::mkdir(dir.c_str(), 0700);
  expect_rejected(dir, "is a directory");
  std::string fifo = temp_path("a_fifo");
  std::remove(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_rejected(fifo, "not a regular file");
  std::remove(fifo.c_str());
  expect_rejected(temp_path("missing.safetensors"), "cannot open");
  // SerializationError is the RuntimeError that callers already catch.
  EXPECT_THROW(load(dir), RuntimeError);
}

TEST(Serialize, SpecificationEdgeCasesLoad) {
  // Zero-size tensors share an offset, unknown fields are skipped, metadata may be null.
  std::string path = write_file(
      "edge.st",
      R"({"__metadata__":null,"e":{"dtype":"F64","shape":[0,3],"data_offsets":[0,0]},)"
      R"("é":{"dtype":"I64","shape":[1],"data_offsets":[0,8],"later":[{"x":null}]}}  )",
      std::string("\x07\0\0\0\0\0\0\0", 8));
  std::map<std::string, std::string> metadata;
  auto t = load(path, &metadata);
  EXPECT_TRUE(metadata.empty());
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t["e"].shape(), (Shape{0, 3}));
  EXPECT_EQ(t["\xc3\xa9"].to_vector(), std::vector<double>{7});
}

TEST(Serialize, FailedSaveLeavesNoFileBehind) {
  std::string dir = temp_path("save_target_dir");
  ::mkdir(dir.c_str(), 0700);
  // Renaming onto a directory fails after the data was written: the temporary file must go.
  EXPECT_THROW(save({{"w", ones({10})}}, dir), SerializationError);
  int strays = 0;
  if (DIR* d = ::opendir(::testing::TempDir().c_str())) {
    while (dirent* ent = ::readdir(d))
      if (std::string(ent->d_name).rfind(".save_target_dir", 0) == 0) ++strays;
    ::closedir(d);
  }
  EXPECT_EQ(strays, 0);
  EXPECT_THROW(save({{"w", ones({1})}}, temp_path("no/such/dir/w.st")), SerializationError);
  EXPECT_THROW(save({{"w", ones({1})}}, temp_path("trailing_slash/")), SerializationError);
}

TEST(Serialize, ModuleWeightsMoveThroughFiles) {
  manual_seed(5);
  nn::Linear a(4, 3), b(4, 3);
  std::string path = temp_path("linear.safetensors");
  save(a.state_dict(), path);
  b.load_state_dict(load(path));
  Tensor x = randn({2, 4});
  EXPECT_EQ(a(x).to_vector(), b(x).to_vector());
}

}  // namespace
}  // namespace backprop
