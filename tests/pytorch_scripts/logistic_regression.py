# Logistic regression written out: a weight vector, torch.sigmoid, F.binary_cross_entropy and
# a manual update loop, then the same with BCEWithLogitsLoss.
import torch
import torch.nn.functional as F

torch.manual_seed(7)
X = torch.randn(400, 5)
w_true = torch.tensor([1.5, -2.0, 0.5, 0.0, 3.0])
y = (X @ w_true + 0.3 * torch.randn(400) > 0).float()

w = torch.zeros(5, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
for step in range(300):
    p = torch.sigmoid(X @ w + b)
    loss = F.binary_cross_entropy(p, y)
    loss.backward()
    with torch.no_grad():
        w -= 0.5 * w.grad
        b -= 0.5 * b.grad
        w.grad.zero_()
        b.grad.zero_()

model = torch.nn.Linear(5, 1)
opt = torch.optim.Adam(model.parameters(), lr=0.05)
criterion = torch.nn.BCEWithLogitsLoss()
for step in range(300):
    opt.zero_grad()
    logits_loss = criterion(model(X).squeeze(1), y)
    logits_loss.backward()
    opt.step()

print("manual loss:", loss.item(), "module loss:", logits_loss.item())
print("final loss:", max(loss.item(), logits_loss.item()))
