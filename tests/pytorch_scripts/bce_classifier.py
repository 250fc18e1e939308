# Binary classification of two Gaussian blobs: Sigmoid output, BCELoss, accuracy with round().
import torch
import torch.nn as nn

torch.manual_seed(1)
device = "cpu"

n = 500
x0 = torch.randn(n, 2) + torch.tensor([2.0, 2.0])
x1 = torch.randn(n, 2) + torch.tensor([-2.0, -2.0])
X = torch.cat([x0, x1]).to(device)
Y = torch.cat([torch.zeros(n, 1), torch.ones(n, 1)]).to(device)

model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
loss_fn = nn.BCELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

for epoch in range(300):
    y_pred = model(X)
    loss = loss_fn(y_pred, Y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if epoch % 100 == 0:
        acc = (y_pred.round() == Y).float().mean()
        print(f"epoch {epoch} loss {loss.item():.4f} accuracy {acc.item():.3f}")

with torch.no_grad():
    accuracy = (model(X).round() == Y).float().mean().item()
print("accuracy:", accuracy)
print("final loss:", loss.item())
