// Anomaly mode in the C++ API: a NaN or infinity in backward is stopped at the node that made it.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "backprop/backprop.hpp"

namespace backprop {
namespace {

std::string backward_error(const Tensor& loss) {
  try {
    loss.backward();
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

TEST(Anomaly, OffByDefaultAndInfinitePassesSilently) {
  EXPECT_FALSE(is_anomaly_enabled());
  Tensor x = tensor({0.0}, {1}, DType::Float64, true);
  log(x).sum().backward();
  EXPECT_TRUE(std::isinf(x.grad().item()));
}

TEST(Anomaly, NamesTheNodeAndShowsItsForwardTrace) {
  set_anomaly_trace_fn([] { return std::string("made at the log line"); });
  Tensor x = tensor({0.0, 1.0}, {2}, DType::Float64, true);
  std::string msg;
  {
    DetectAnomalyGuard guard;
    EXPECT_TRUE(is_anomaly_enabled());
    Tensor y = (log(x) * 2.0).sum();
    msg = backward_error(y);
  }
  EXPECT_FALSE(is_anomaly_enabled());
  set_anomaly_trace_fn(nullptr);
  EXPECT_NE(msg.find("Function 'LogBackward0' returned inf values in its 0th output"), std::string::npos) << msg;
  EXPECT_NE(msg.find("made at the log line"), std::string::npos) << msg;
  EXPECT_FALSE(x.grad().defined());  // backward stopped before the leaf
}

TEST(Anomaly, NaNFromZeroTimesInfinityAndCheckNanOff) {
  Tensor x = tensor({1000.0}, {1}, DType::Float64, true);
  {
    DetectAnomalyGuard guard;
    Tensor y = (exp(x) * 0.0).sum();
    std::string msg = backward_error(y);
    EXPECT_NE(msg.find("'ExpBackward0' returned nan"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no forward trace"), std::string::npos) << msg;  // no trace function set
  }
  {
    DetectAnomalyGuard guard(/*check_nan=*/false);
    (exp(x) * 0.0).sum().backward();
    EXPECT_TRUE(std::isnan(x.grad().item()));
  }
}

}  // namespace
}  // namespace backprop
