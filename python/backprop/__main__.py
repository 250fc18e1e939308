"""`python -m backprop`: train an MLP on the handwritten digits that ship with scikit-learn.

Prints a line per epoch (loss, train and test accuracy), the final test accuracy and the gradient
norm of every layer, then saves the weights (safetensors) and, with matplotlib (the demo extra), a loss-curve PNG.
"""

import argparse
import os
import sys
import time

import numpy as np

import backprop as bp

OPTIMIZERS = {
    "adam": lambda params, lr: bp.optim.Adam(params, lr=lr),
    "adamw": lambda params, lr: bp.optim.AdamW(params, lr=lr),
    "sgd": lambda params, lr: bp.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda params, lr: bp.optim.RMSprop(params, lr=lr),
}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m backprop",
        description="Train a multilayer perceptron on scikit-learn's 8x8 handwritten digits (1,797 images, "
                    "bundled with scikit-learn, no download) with backprop, and report what it learned.",
    )
    parser.add_argument("--epochs", type=int, default=30, help="passes over the training set (default 30)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 64], metavar="N",
                        help="sizes of the hidden layers (default 128 64)")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam", help="optimizer (default adam)")
    parser.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    parser.add_argument("--batch-size", type=int, default=32, help="minibatch size (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="seed for initialisation, split and shuffling (default 0)")
    parser.add_argument("--out", default="backprop-digits", metavar="DIR",
                        help="folder for digits_mlp.safetensors and loss_curve.png (default ./backprop-digits)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel training on MPI: mpirun -n N python -m backprop --distributed (each rank "
                             "takes batch-size/N samples of every batch; rank 0 prints and saves; needs "
                             "pip install 'backprop[distributed]')")
    return parser.parse_args(argv)


def load_data(seed):
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        sys.exit("the demo needs scikit-learn: pip install 'backprop[demo]'")
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)


def build_model(hidden):
    layers = []
    sizes = [64, *hidden]
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [bp.nn.Linear(fan_in, fan_out), bp.nn.ReLU()]
    layers.append(bp.nn.Linear(sizes[-1], 10))
    return bp.nn.Sequential(*layers)


@bp.no_grad()
def accuracy(model, x, y):
    model.eval()
    predictions = model(x).argmax(dim=1)
    model.train()
    return (predictions == y).float().mean().item()


def data_parallel(args, model, x_train, y_train):
    """--distributed: joins the MPI job, wraps the model in DistributedDataParallel and gives this rank
    its share of every batch, so that the averaged gradient is that of the whole batch."""
    try:
        import backprop.distributed as dist
    except ImportError as exc:
        sys.exit(str(exc))
    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        sys.exit(f"--batch-size {args.batch_size} must be divisible by the number of ranks ({world})")
    dataset = bp.utils.data.TensorDataset(x_train, y_train)
    sampler = bp.utils.data.DistributedSampler(dataset, shuffle=True, seed=args.seed)
    loader = bp.utils.data.DataLoader(dataset, batch_size=args.batch_size // world, sampler=sampler)
    if rank != 0:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (rank 0 alone reports)
        args.no_progress = True
    print(f"data-parallel on {world} MPI ranks, {args.batch_size // world} samples per rank and step")
    return bp.nn.parallel.DistributedDataParallel(model), loader, rank


def save_loss_curve(losses, test_acc, path):
    """Writes the loss-curve PNG; returns False, having written nothing, when matplotlib is absent
    (installed without the demo extra), since the training and the saved weights stand without it."""
    try:
        import matplotlib
    except ImportError:
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(losses) + 1), losses, marker="o", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_title(f"digits MLP trained with backprop (test accuracy {test_acc:.3f})")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    bp.manual_seed(args.seed)
    x_train, x_test, y_train, y_test = load_data(args.seed)
    x_train, y_train = bp.tensor(x_train), bp.tensor(y_train)
    x_test, y_test = bp.tensor(x_test), bp.tensor(y_test)
    model = build_model(args.hidden)
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), args.lr)
    loss_fn = bp.nn.CrossEntropyLoss()
    loader = bp.utils.data.DataLoader(bp.utils.data.TensorDataset(x_train, y_train), batch_size=args.batch_size,
                                      shuffle=True, generator=args.seed)
    train_model, rank = model, 0
    if args.distributed:
        train_model, loader, rank = data_parallel(args, model, x_train, y_train)
    print(f"backprop {bp.__version__} ({bp.cpu_capability()}): training {model}\n"
          f"on {len(y_train)} digits, testing on {len(y_test)}, {args.optimizer} lr={args.lr}")

    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    progress = None
    if tqdm is not None and not args.no_progress:
        progress = tqdm(total=args.epochs * len(loader), unit="batch", leave=False, file=sys.stderr)

    losses = []
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total, batches = 0.0, 0
        if args.distributed:
            loader.sampler.set_epoch(epoch)
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(train_model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
            if progress is not None:
                progress.update(1)
        losses.append(total / batches)
        line = (f"epoch {epoch:3d}  loss {losses[-1]:.4f}  train acc {accuracy(model, x_train, y_train):.4f}  "
                f"test acc {accuracy(model, x_test, y_test):.4f}")
        (progress.write if progress is not None else print)(line)
    if progress is not None:
        progress.close()
    seconds = time.perf_counter() - started

    test_acc = accuracy(model, x_test, y_test)
    print(f"\nfinal test accuracy: {test_acc:.4f} ({seconds:.1f} s for {args.epochs} epochs)")
    if rank != 0:
        return test_acc  # the replicas are identical: rank 0 alone reports gradient norms and saves

    # Gradient flow of one full-batch backward pass with the trained weights.
    model.zero_grad()
    with bp.nn.utils.GradFlow(model) as flow:
        loss_fn(model(x_train), y_train).backward()
    print("gradient flow per layer (full training batch):")
    flow.table()

    os.makedirs(args.out, exist_ok=True)
    weights = os.path.join(args.out, "digits_mlp.safetensors")
    bp.save(model.state_dict(), weights)
    curve = os.path.join(args.out, "loss_curve.png")
    if save_loss_curve(losses, test_acc, curve):
        print(f"saved weights to {weights} and the loss curve to {curve}")
    else:
        print(f"saved weights to {weights}; the loss curve plot needs matplotlib: pip install 'backprop[demo]'")
    return test_acc


if __name__ == "__main__":
    main()
