# Linear regression with a Dataset/DataLoader, SGD with momentum and a step scheduler.
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(42)
true_w = torch.tensor([[2.0], [-3.4], [1.5]])
true_b = 4.2
features = torch.randn(1000, 3)
labels = features @ true_w + true_b + 0.01 * torch.randn(1000, 1)

dataset = TensorDataset(features, labels)
loader = DataLoader(dataset, batch_size=32, shuffle=True)

net = nn.Sequential(nn.Linear(3, 1))
nn.init.normal_(net[0].weight, mean=0, std=0.01)
nn.init.zeros_(net[0].bias)
loss_fn = nn.MSELoss()
optimizer = optim.SGD(net.parameters(), lr=0.03, momentum=0.9)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)

for epoch in range(8):
    for X, y in loader:
        loss = loss_fn(net(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    scheduler.step()
    with torch.no_grad():
        epoch_loss = loss_fn(net(features), labels)
    print(f"epoch {epoch + 1}, loss {epoch_loss.item():f}")

print("w error:", (true_w.reshape(net[0].weight.shape) - net[0].weight).abs().max().item())
print("final loss:", epoch_loss.item())
