# The "tensors" tutorial's everyday calls, ending in a tiny fit: creation, indexing, reshaping,
# in-place ops, NumPy bridge, then a least-squares line with manual gradient descent.
import numpy as np
import torch

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
x_ones = torch.ones_like(x_data)
x_rand = torch.rand_like(x_data, dtype=torch.float)
shape = (2, 3,)
rand_tensor = torch.rand(shape)
ones_tensor = torch.ones(shape)
zeros_tensor = torch.zeros(shape)
tensor = torch.ones(4, 4)
tensor[:, 1] = 0
t1 = torch.cat([tensor, tensor, tensor], dim=1)
y1 = tensor @ tensor.T
z1 = tensor * tensor
agg = tensor.sum()
agg_item = agg.item()
tensor.add_(5)
n = tensor.numpy()
assert t1.shape == (4, 12) and y1.shape == (4, 4) and agg_item == 12.0 and n[0, 0] == 6.0
assert x_np.shape == torch.Size([2, 2]) and x_ones.dtype == x_data.dtype and x_rand.dtype == torch.float32

torch.manual_seed(0)
xs = torch.arange(0, 10, 0.5)
ys = 3.0 * xs - 1.0 + 0.1 * torch.randn(xs.shape[0])
m = torch.zeros(1, requires_grad=True)
c = torch.zeros(1, requires_grad=True)
for _ in range(500):
    loss = ((m * xs + c - ys) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        m -= 0.01 * m.grad
        c -= 0.01 * c.grad
        m.grad.zero_()
        c.grad.zero_()
print("slope", m.item(), "intercept", c.item())
print("final loss:", loss.item())
