"""`python -m backprop`: a small gradient demo."""

import backprop as bp


def main():
    x = bp.tensor([1.0], requires_grad=True)
    y = x**2 + 3 * x
    y.backward()
    print(f"y = x**2 + 3x at x = 1: y = {y.item():.1f}, dy/dx = {x.grad.item():.1f}")


if __name__ == "__main__":
    main()
