"""PPO's maths as pure functions: generalised advantage estimation and the clipped loss."""

from __future__ import annotations

import torch


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    next_value: torch.Tensor,
    gamma: float,
    gae_lambda: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and returns ``(T, N)`` of a rollout, with GAE(γ, λ).

    ``values[t]`` is V(obs[t]) and ``rewards[t]``, ``terminated[t]``, ``truncated[t]`` come from
    the step taken from obs[t]; ``next_value`` is V(obs[T]). The value of the observation a step
    returned is ``values[t + 1]`` (``next_value`` for the last step).

    - A **terminated** step (success, trap) has no future: δ = r − V(s).
    - A **truncated** step (time limit) bootstraps from the value of the observation it
      returned: δ = r + γ·V(s') − V(s). Under gymnasium's next-step autoreset that observation
      is the episode's last one, so ``values[t + 1]`` is exactly V(final obs).
    - Either way the λ-sum stops there: the next step belongs to another episode. (Under
      next-step autoreset the next step is the reset step, whose action the env ignores; the
      caller masks it out of the loss.)
    """
    num_steps = len(rewards)
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(num_steps)):
        following = next_value if t == num_steps - 1 else values[t + 1]
        alive = 1.0 - terminated[t].to(rewards.dtype)
        ended = (terminated[t] | truncated[t]).to(rewards.dtype)
        delta = rewards[t] + gamma * following * alive - values[t]
        last = delta + gamma * gae_lambda * (1.0 - ended) * last
        advantages[t] = last
    return advantages, advantages + values


def log_prob_and_entropy(
    logits: torch.Tensor, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The log-probability of ``actions`` and the entropy under categorical ``logits``
    (..., A): what ``torch.distributions.Categorical`` gives, without its argument checks
    (a third of the loss's time in a small PPO minibatch)."""
    log_p = torch.log_softmax(logits, dim=-1)
    entropy = -(log_p.exp() * log_p).sum(dim=-1)
    return log_p.gather(-1, actions.unsqueeze(-1)).squeeze(-1), entropy


def ppo_loss(
    new_logprob: torch.Tensor,
    old_logprob: torch.Tensor,
    entropy: torch.Tensor,
    new_value: torch.Tensor,
    old_value: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_coef: float = 0.2,
    clip_vloss: bool = True,
    vf_coef: float = 0.5,
    ent_coef: float = 0.01,
    norm_adv: bool = True,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's clipped surrogate loss over the entries where ``mask`` is True.

    ``loss = pg_loss − ent_coef · entropy + vf_coef · v_loss``, each a masked mean, where
    ``pg_loss = mean(max(−A·ρ, −A·clip(ρ, 1 ± ε)))`` with ρ = exp(new − old log-prob) and
    ``v_loss = ½·mean(max((V − R)², (clip(V, V_old ± ε) − R)²))`` (without ``clip_vloss``:
    ½·mean((V − R)²)). With ``norm_adv`` the advantages are standardised over the masked
    entries first. Returns the loss and detached statistics: ``pg_loss``, ``v_loss``,
    ``entropy``, ``approx_kl`` ((ρ − 1) − log ρ, Schulman's estimator) and ``clipfrac``.
    """
    weight = mask.to(new_logprob.dtype)
    count = weight.sum().clamp(min=1.0)

    def mean(x: torch.Tensor) -> torch.Tensor:
        return (x * weight).sum() / count

    if norm_adv:
        centred = advantages - mean(advantages)
        std = (mean(centred**2) * count / (count - 1).clamp(min=1.0)).sqrt()
        advantages = centred / (std + 1e-8)
    log_ratio = new_logprob - old_logprob
    ratio = log_ratio.exp()
    pg_loss = mean(
        torch.max(-advantages * ratio, -advantages * ratio.clamp(1 - clip_coef, 1 + clip_coef))
    )
    if clip_vloss:
        clipped = old_value + (new_value - old_value).clamp(-clip_coef, clip_coef)
        v_loss = 0.5 * mean(torch.max((new_value - returns) ** 2, (clipped - returns) ** 2))
    else:
        v_loss = 0.5 * mean((new_value - returns) ** 2)
    entropy_loss = mean(entropy)
    loss = pg_loss - ent_coef * entropy_loss + vf_coef * v_loss
    with torch.no_grad():
        stats = {
            "pg_loss": pg_loss.detach(),
            "v_loss": v_loss.detach(),
            "entropy": entropy_loss.detach(),
            "approx_kl": mean((ratio - 1) - log_ratio),
            "clipfrac": mean(((ratio - 1).abs() > clip_coef).to(weight.dtype)),
        }
    return loss, stats
