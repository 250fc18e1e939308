# Three-class spiral-free toy problem: nn.Module with dropout, CrossEntropyLoss, eval mode,
# gradient clipping and a save/load round trip of the state_dict.
import io

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)
centers = torch.tensor([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
labels = torch.randint(0, 3, (600,))
points = centers[labels] + torch.randn(600, 2)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(2, 32)
        self.dropout = nn.Dropout(0.1)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        return self.fc2(x)


net = Net()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
for epoch in range(200):
    net.train()
    optimizer.zero_grad()
    loss = criterion(net(points), labels)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=5.0)
    optimizer.step()

buffer = io.BytesIO()
torch.save(net.state_dict(), buffer)
buffer.seek(0)
restored = Net()
restored.load_state_dict(torch.load(buffer))
restored.eval()
with torch.no_grad():
    logits = restored(points)
    final = criterion(logits, labels).item()
    _, predicted = torch.max(logits, 1)
    accuracy = (predicted == labels).sum().item() / labels.size(0)
print("accuracy:", accuracy)
print("final loss:", final)
