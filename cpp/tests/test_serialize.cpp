// save/load of named tensors (the safetensors layout shared with Python).
#include <gtest/gtest.h>

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
