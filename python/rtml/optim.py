"""Optimizers for the linear models, River's way: LogisticRegression(optimizer=optim.Adam(lr=0.01))."""

__all__ = ["Optimizer", "SGD", "AdaGrad", "Adam", "FTRLProximal"]


class Optimizer:
    """An optimizer's name and parameters, handed to the model it is given to."""

    name = None

    def __init__(self, **params):
        self.params = {k: v for k, v in params.items() if v is not None}

    def __repr__(self):
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({inner})"


class SGD(Optimizer):
    """Plain stochastic gradient descent (River's optim.SGD)."""

    name = "sgd"

    def __init__(self, lr=None, schedule=None, power_t=None):
        super().__init__(lr=lr, schedule=schedule, power_t=power_t)


class AdaGrad(Optimizer):
    name = "adagrad"

    def __init__(self, lr=None, eps=None):
        super().__init__(lr=lr, eps=eps)


class Adam(Optimizer):
    name = "adam"

    def __init__(self, lr=None, beta1=None, beta2=None, eps=None):
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps)


class FTRLProximal(Optimizer):
    """FTRL-Proximal; alpha is the learning rate, beta ftrl_beta, l1 and l2 the model's."""

    name = "ftrl"

    def __init__(self, alpha=None, beta=None, l1=None, l2=None):
        super().__init__(lr=alpha, ftrl_beta=beta, l1=l1, l2=l2)
