# An autoencoder compressing 32-dimensional data that lies near a 4-dimensional subspace.
import torch
from torch import nn

torch.manual_seed(0)

latent = torch.randn(1024, 4)
mixing = torch.randn(4, 32)
data = torch.tanh(latent @ mixing) + 0.01 * torch.randn(1024, 32)


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))
        self.decoder = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 32), nn.Tanh())

    def forward(self, x):
        return self.decoder(self.encoder(x))


model = AutoEncoder()
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)

for epoch in range(40):
    perm = torch.randperm(data.size(0))
    for i in range(0, data.size(0), 128):
        batch = data[perm[i:i + 128]]
        recon = model(batch)
        loss = criterion(recon, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if epoch % 10 == 0:
        print(f"epoch [{epoch + 1}/40], loss:{loss.item():.4f}")

with torch.no_grad():
    final = criterion(model(data), data).item()
print("final loss:", final)
