"""Models, PPO maths, checkpoints and the loaded policy (babyaipp.agents), CPU only."""

from __future__ import annotations

import hashlib
import math

import gymnasium as gym
import numpy as np
import pytest

import babyaipp

torch = pytest.importorskip("torch")
# One thread: on a busy 2-core machine OpenMP spin-waiting makes small models 10x slower.
torch.set_num_threads(1)

from babyaipp.agents import (  # noqa: E402
    MODELS,
    ActorCritic,
    Fusion,
    compute_gae,
    load_policy,
    log_prob_and_entropy,
    obs_to_tensors,
    ppo_loss,
    register_model,
    save_checkpoint,
)
from babyaipp.agents.checkpoint import load_checkpoint, space_spec  # noqa: E402
from babyaipp.agents.config import PRESETS, TrainConfig, parse_config  # noqa: E402
from babyaipp.agents.encoders import GRID_CONVS  # noqa: E402
from babyaipp.agents.model import lstm_sequence  # noqa: E402
from babyaipp.policy import Policy  # noqa: E402

ENV_ID = "BabyAIPP-GoToRedBall-Train-v0"
N = 6


@pytest.fixture(scope="module")
def batch():
    """Observations of N envs after a few random steps, and the spaces."""
    envs = gym.make_vec(ENV_ID, N, vectorization_mode="sync", wrappers=[babyaipp.TokenizeText])
    obs, _ = envs.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(3):
        obs, *_ = envs.step(rng.integers(3, size=N))
    spaces = envs.single_observation_space, envs.single_action_space
    envs.close()
    return obs, spaces


def make_agent(spaces, model: str, **kwargs) -> ActorCritic:
    torch.manual_seed(0)
    return ActorCritic(*spaces, model=model, dim=16, **kwargs)


def features(agent: ActorCritic, obs: dict) -> torch.Tensor:
    with torch.no_grad():
        return agent.fusion(obs_to_tensors(obs, "cpu"))


def pad(array: np.ndarray, axis: int, extra: int) -> np.ndarray:
    widths = [(0, 0)] * array.ndim
    widths[axis] = (0, extra)
    return np.pad(array, widths)


# -- GAE and the loss: known answers ---------------------------------------------------------

GAMMA, LAMBDA = 0.9, 0.8


def gae(rewards, values, terminated, truncated, next_value):
    def col(x, dtype=torch.float32):
        return torch.tensor(x, dtype=dtype).unsqueeze(1)

    advantages, returns = compute_gae(
        col(rewards),
        col(values),
        col(terminated, torch.bool),
        col(truncated, torch.bool),
        torch.tensor([next_value]),
        GAMMA,
        LAMBDA,
    )
    return advantages[:, 0].tolist(), returns[:, 0].tolist()


def test_gae_without_episode_end():
    advantages, returns = gae([1, 0, 2], [0.5, 0.4, 0.3], [0, 0, 0], [0, 0, 0], 0.2)
    # δ2 = 2 + .9*.2 - .3 = 1.88; δ1 = .9*.3 - .4 = -.13; δ0 = 1 + .9*.4 - .5 = .86; γλ = .72
    assert advantages == pytest.approx(
        [0.86 + 0.72 * (-0.13 + 0.72 * 1.88), -0.13 + 0.72 * 1.88, 1.88]
    )
    assert returns == pytest.approx(
        [a + v for a, v in zip(advantages, [0.5, 0.4, 0.3], strict=True)]
    )


def test_gae_terminated_episode_does_not_bootstrap():
    # Step 1 terminates; step 2 is gymnasium's reset step (obs[2] = the last observation, value .9).
    advantages, _ = gae([0, 1, 0, 0.5], [0.2, 0.3, 0.9, 0.1], [0, 1, 0, 0], [0, 0, 0, 0], 0.4)
    assert advantages[1] == pytest.approx(1 - 0.3)  # no γ·V(last obs)
    assert advantages[0] == pytest.approx((0.9 * 0.3 - 0.2) + 0.72 * 0.7)
    assert advantages[3] == pytest.approx(0.5 + 0.9 * 0.4 - 0.1)  # the new episode


def test_gae_truncated_episode_bootstraps_from_its_last_observation():
    advantages, _ = gae([0, 1, 0, 0.5], [0.2, 0.3, 0.9, 0.1], [0, 0, 0, 0], [0, 1, 0, 0], 0.4)
    assert advantages[1] == pytest.approx(1 + 0.9 * 0.9 - 0.3)  # bootstraps on V(last obs) = .9
    assert advantages[0] == pytest.approx((0.9 * 0.3 - 0.2) + 0.72 * 1.51)  # λ-sum from step 1
    assert advantages[3] == pytest.approx(0.5 + 0.9 * 0.4 - 0.1)  # nothing leaks across


def test_gae_truncation_on_the_last_step_uses_next_value():
    advantages, _ = gae([0, 1], [0.2, 0.3], [0, 0], [0, 1], 0.7)
    assert advantages[1] == pytest.approx(1 + 0.9 * 0.7 - 0.3)


def test_ppo_loss_known_answer():
    new_logprob = torch.log(torch.tensor([0.5, 0.3, 0.2]))
    old_logprob = torch.log(torch.tensor([0.25, 0.3, 0.4]))  # ratios 2, 1, 0.5
    advantages = torch.tensor([1.0, -1.0, 2.0])
    new_value, old_value = torch.tensor([1.0, 0.0, 2.0]), torch.tensor([0.5, 0.0, 2.0])
    returns = torch.tensor([0.0, 1.0, 2.0])
    entropy = torch.tensor([1.0, 2.0, 3.0])
    mask = torch.tensor([True, True, False])  # the third entry is a reset step: ignored
    loss, stats = ppo_loss(
        new_logprob, old_logprob, entropy, new_value, old_value, advantages, returns, mask,
        clip_coef=0.2, vf_coef=0.5, ent_coef=0.01, norm_adv=False,
    )  # fmt: skip
    # pg: entry 0: max(-1*2, -1*1.2) = -1.2; entry 1: max(1*1, 1*1) = 1 → mean -0.1
    assert stats["pg_loss"] == pytest.approx(-0.1)
    # v: entry 0: max((1-0)², (0.7-0)²) = 1; entry 1: (0-1)² = 1 → 0.5 * 1
    assert stats["v_loss"] == pytest.approx(0.5)
    assert stats["entropy"] == pytest.approx(1.5)
    assert stats["clipfrac"] == pytest.approx(0.5)
    assert loss.item() == pytest.approx(-0.1 - 0.01 * 1.5 + 0.5 * 0.5)
    _, unclipped = ppo_loss(
        new_logprob, old_logprob, entropy, new_value, old_value, advantages, returns, mask,
        clip_vloss=False, norm_adv=False,
    )  # fmt: skip
    assert unclipped["v_loss"] == pytest.approx(0.5 * (1 + 1) / 2)


def test_ppo_loss_normalises_advantages_over_the_mask_only():
    ones = torch.zeros(4)
    advantages = torch.tensor([1.0, 3.0, 100.0, -100.0])
    mask = torch.tensor([True, True, False, False])
    _, stats = ppo_loss(ones, ones, ones, ones, ones, advantages, ones, mask, ent_coef=0.0)
    # ratio 1: pg = -mean(normalised A over the mask) = 0 (the masked outliers change nothing)
    assert stats["pg_loss"] == pytest.approx(0.0, abs=1e-6)


def test_log_prob_and_entropy_are_categoricals():
    logits = torch.randn(3, 5, 7, dtype=torch.float64) * 4
    actions = torch.randint(0, 7, (3, 5))
    log_prob, entropy = log_prob_and_entropy(logits, actions)
    dist = torch.distributions.Categorical(logits=logits)
    torch.testing.assert_close(log_prob, dist.log_prob(actions))
    torch.testing.assert_close(entropy, dist.entropy())
    uniform = log_prob_and_entropy(torch.zeros(2, 4), torch.tensor([0, 3]))
    torch.testing.assert_close(uniform[0], torch.full((2,), -math.log(4)))
    torch.testing.assert_close(uniform[1], torch.full((2,), math.log(4)))


def test_vector_envs_autoreset_in_next_step_mode():
    """The trainer's bookkeeping assumes gymnasium's next-step autoreset: guard it."""
    envs = gym.make_vec(ENV_ID, 1, vectorization_mode="sync", wrappers=[babyaipp.TokenizeText])
    envs.reset(seed=0)
    ended = False
    for _ in range(200):
        obs, reward, terminated, truncated, info = envs.step(np.array([2]))
        if ended:
            assert reward[0] == 0 and not terminated[0] and not truncated[0]
            break
        ended = bool(terminated[0] or truncated[0])
    assert ended
    envs.close()


# -- models ----------------------------------------------------------------------------------


@pytest.mark.parametrize("grid_conv", list(GRID_CONVS))
@pytest.mark.parametrize("model", list(MODELS))
def test_forward_backward(batch, model, grid_conv):
    obs, spaces = batch
    agent = make_agent(spaces, model, grid_conv=grid_conv)
    tensors = obs_to_tensors(obs, "cpu")
    starts = torch.ones(N, dtype=torch.bool)
    action, logprob, entropy, value, state = agent.get_action_and_value(
        tensors, agent.initial_state(N), starts
    )
    assert action.shape == logprob.shape == entropy.shape == value.shape == (N,)
    assert state.shape == (N, agent.state_size)
    (logprob.sum() + value.sum() + entropy.sum()).backward()
    for name, param in agent.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
    text_grads = [p.grad.abs().sum() for n, p in agent.named_parameters() if ".text." in n]
    assert bool(text_grads) == (model != "image")
    assert all(g > 0 for g in text_grads)


@pytest.mark.parametrize("model", list(MODELS))
def test_padding_changes_nothing(batch, model):
    obs, spaces = batch
    agent = make_agent(spaces, model)
    expected = features(agent, obs)
    longer_mission = {**obs, "mission": pad(obs["mission"], 1, 12)}
    longer_sentences = {**obs, "description": pad(obs["description"], 2, 3)}
    torch.testing.assert_close(features(agent, longer_mission), expected)
    torch.testing.assert_close(features(agent, longer_sentences), expected)
    if model != "attention":  # the original has one slot per sentence position, fixed at build
        more_rows = {**obs, "description": pad(obs["description"], 1, 2)}
        torch.testing.assert_close(features(agent, more_rows), expected)


def test_sentence_order(batch):
    """Cross-attention keys sentences by their text; the original attention by position."""
    obs, spaces = batch
    reversed_rows = obs["description"].copy()
    reversed_rows[:, :2] = obs["description"][:, 1::-1]
    assert (obs["description"][:, :2] != 0).any(axis=2).all(), "the level shows two sentences"
    swapped = {**obs, "description": reversed_rows}
    for model in ("cross-attention", "concat", "film"):
        agent = make_agent(spaces, model)
        torch.testing.assert_close(features(agent, swapped), features(agent, obs))
    agent = make_agent(spaces, "attention")
    assert not torch.allclose(features(agent, swapped), features(agent, obs))


@pytest.mark.parametrize("model", ["image", "cross-attention"])
def test_episode_start_resets_the_memory(batch, model):
    obs, spaces = batch
    agent = make_agent(spaces, model)
    tensors = obs_to_tensors(obs, "cpu")
    zeros, noise = agent.initial_state(N), torch.randn(N, agent.state_size)
    starts = torch.tensor([True, False] * (N // 2))
    with torch.no_grad():
        logits_zero, _, state_zero = agent.step(tensors, zeros, starts)
        logits_noise, _, state_noise = agent.step(tensors, noise, starts)
    torch.testing.assert_close(logits_noise[starts], logits_zero[starts])
    torch.testing.assert_close(state_noise[starts], state_zero[starts])
    assert not torch.allclose(logits_noise[~starts], logits_zero[~starts])


def test_sequence_forward_equals_step_by_step(batch):
    obs, spaces = batch
    agent = make_agent(spaces, "film")
    tensors = obs_to_tensors(obs, "cpu")
    steps = 3
    starts = torch.zeros(steps, N, dtype=torch.bool)
    starts[0] = True
    starts[2, :2] = True
    sequence = {k: v.unsqueeze(0).expand(steps, *v.shape).clone() for k, v in tensors.items()}
    with torch.no_grad():
        logits, values, last = agent(sequence, agent.initial_state(N), starts)
        state = agent.initial_state(N)
        for t in range(steps):
            step_logits, step_values, state = agent.step(tensors, state, starts[t])
            torch.testing.assert_close(step_logits, logits[t])
            torch.testing.assert_close(step_values, values[t])
    torch.testing.assert_close(state, last)


def test_lstm_sequence_is_the_cells_loop():
    """The update's LSTM (input projection once for all steps) gives the cell's values and
    gradients, resets included (float64: only the grouping of the sums differs)."""
    cell = torch.nn.LSTMCell(6, 5).double()
    inputs = torch.randn(4, 3, 6, dtype=torch.float64, requires_grad=True)
    h0, c0 = torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64)
    keep = torch.ones(4, 3, 1, dtype=torch.float64)
    keep[0, 1], keep[2, 0] = 0.0, 0.0  # episode starts
    outputs, h, c = lstm_sequence(cell, inputs, h0, c0, keep)
    ours = torch.autograd.grad((outputs.sum() + c.sum()), [inputs, *cell.parameters()])
    loop_h, loop_c, steps = h0, c0, []
    for t in range(4):
        loop_h, loop_c = cell(inputs[t], (loop_h * keep[t], loop_c * keep[t]))
        steps.append(loop_h)
    torch.testing.assert_close(outputs, torch.stack(steps))
    torch.testing.assert_close((h, c), (loop_h, loop_c))
    theirs = torch.autograd.grad(
        torch.stack(steps).sum() + loop_c.sum(), [inputs, *cell.parameters()]
    )
    for mine, reference in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, reference)


def test_without_memory(batch):
    obs, spaces = batch
    agent = make_agent(spaces, "concat", memory=False)
    assert agent.state_size == 0
    action, *_ = agent.get_action_and_value(
        obs_to_tensors(obs, "cpu"), agent.initial_state(N), torch.zeros(N, dtype=torch.bool)
    )
    assert action.shape == (N,)


def test_unknown_model_is_refused(batch):
    with pytest.raises(ValueError, match="unknown model 'cnn'.*cross-attention"):
        ActorCritic(*batch[1], model="cnn")


def test_register_model(batch):
    class Tiny(MODELS["image"]):
        pass

    register_model("tiny-test", Tiny)
    try:
        assert isinstance(make_agent(batch[1], "tiny-test").fusion, Tiny)
        with pytest.raises(ValueError, match="already registered"):
            register_model("tiny-test", Tiny)
        with pytest.raises(TypeError):
            register_model("not-a-model", dict)
    finally:
        MODELS.pop("tiny-test")
    assert issubclass(Tiny, Fusion)


# -- checkpoints and load_policy -------------------------------------------------------------


def write_checkpoint(path, agent, spaces, **overrides):
    payload = {
        "model": agent.model_kwargs(),
        "spaces": space_spec(*spaces),
        "config": {"model": agent.model_name},
        "iteration": 1,
        "global_step": 10,
        "model_state": agent.state_dict(),
        **overrides,
    }
    return save_checkpoint(path, payload)


@pytest.mark.parametrize("model", list(MODELS))
def test_load_policy_matches_the_agent(batch, model, tmp_path):
    obs, spaces = batch
    agent = make_agent(spaces, model)
    path = write_checkpoint(tmp_path / "checkpoint.pt", agent, spaces)
    policy = load_policy(tmp_path)  # a run directory works too
    assert isinstance(policy, Policy)
    assert policy.model_name == policy.name == model
    assert policy.uses_text == (model != "image") and not policy.privileged and not policy.needs_env
    assert policy.vocab_hash == babyaipp.VOCAB_HASH
    assert policy.checkpoint_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert policy.config == {"model": model}

    starts = np.ones(N, dtype=bool)
    state = policy.initial_state(N)
    info = policy.explain(obs, state, starts)
    with torch.no_grad():
        logits, *_ = agent.step(
            obs_to_tensors(obs, "cpu"), agent.initial_state(N), torch.ones(N, dtype=torch.bool)
        )
    np.testing.assert_allclose(
        info["action_probs"], torch.softmax(logits, 1).numpy(), rtol=1e-5, atol=1e-6
    )
    actions, next_state = policy.act(obs, state, starts, greedy=True)
    assert actions.dtype == np.int64 and actions.shape == (N,)
    np.testing.assert_array_equal(actions, info["action_probs"].argmax(1))
    assert next_state.shape == (N, agent.state_size)
    sampled, _ = policy.act(obs, state, starts, greedy=False)
    assert ((sampled >= 0) & (sampled < 7)).all()

    fusion_class = babyaipp.agents.fusion.get_model_class(model)
    if fusion_class.attention is not babyaipp.agents.fusion.Fusion.attention:
        attention = info["attention"]
        assert attention.shape == (N, 7, 7) and attention.dtype == np.int64
        has_sentence = (obs["description"] != 0).any(axis=2)
        for row, cells in zip(has_sentence, attention, strict=True):
            assert all(c == -1 or row[c] for c in cells.ravel())
    else:
        assert info["attention"] is None


@pytest.mark.parametrize("grid_conv", list(GRID_CONVS))
def test_checkpoint_keeps_the_grid_conv(batch, grid_conv, tmp_path):
    obs, spaces = batch
    agent = make_agent(spaces, "cross-attention", grid_conv=grid_conv)
    policy = load_policy(write_checkpoint(tmp_path / "a.pt", agent, spaces))
    assert policy.agent.model_kwargs() == agent.model_kwargs()
    assert policy.agent.model_kwargs()["grid_conv"] == grid_conv
    torch.testing.assert_close(features(policy.agent, obs), features(agent, obs))


def test_separable_grid_conv_is_smaller():
    def weights(name: str) -> int:
        return sum(p.numel() for p in GRID_CONVS[name](32).parameters())

    assert weights("separable") < weights("full") / 5


def test_checkpoint_from_before_grid_conv_loads_as_full(batch, tmp_path):
    obs, spaces = batch
    agent = make_agent(spaces, "film", grid_conv="full")
    kwargs = agent.model_kwargs()
    del kwargs["grid_conv"]  # what checkpoints written before the option hold
    policy = load_policy(write_checkpoint(tmp_path / "old.pt", agent, spaces, model=kwargs))
    assert policy.agent.model_kwargs()["grid_conv"] == "full"
    torch.testing.assert_close(features(policy.agent, obs), features(agent, obs))


def test_checkpoint_is_loaded_weights_only(batch, tmp_path):
    agent = make_agent(batch[1], "image")
    path = write_checkpoint(tmp_path / "a.pt", agent, batch[1])
    payload = torch.load(path, weights_only=True)
    assert payload["vocab_hash"] == babyaipp.VOCAB_HASH
    assert payload["babyaipp_version"] == babyaipp.__version__
    assert not list(tmp_path.glob("*.tmp")), "the temp file was renamed"


def test_checkpoint_from_another_vocabulary_is_refused(batch, tmp_path):
    agent = make_agent(batch[1], "image")
    path = write_checkpoint(tmp_path / "old.pt", agent, batch[1])
    payload = torch.load(path, weights_only=True)
    payload["vocab_hash"] = "0123456789abcdef"
    torch.save(payload, path)
    with pytest.raises(ValueError, match=r"old\.pt.*vocabulary 0123456789abcdef"):
        load_policy(path)


def test_bad_checkpoint_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_policy(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt.*not a babyaipp checkpoint: a text file"):
        load_policy(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="other.pt.*not a babyaipp checkpoint"):
        load_policy(other)


def test_checkpoint_round_trip_restores_optimizer(batch, tmp_path):
    agent = make_agent(batch[1], "film")
    optimizer = torch.optim.Adam(agent.parameters(), lr=1e-3)
    obs = obs_to_tensors(batch[0], "cpu")
    _, logprob, _, value, _ = agent.get_action_and_value(
        obs, agent.initial_state(N), torch.ones(N, dtype=torch.bool)
    )
    (value.sum() - logprob.sum()).backward()
    optimizer.step()
    write_checkpoint(tmp_path / "c.pt", agent, batch[1], optimizer_state=optimizer.state_dict())
    loaded = load_checkpoint(tmp_path / "c.pt")
    for key, tensor in agent.state_dict().items():
        torch.testing.assert_close(loaded["model_state"][key], tensor)
    restored = torch.optim.Adam(make_agent(batch[1], "film").parameters(), lr=1e-3)
    restored.load_state_dict(loaded["optimizer_state"])
    for a, b in zip(optimizer.state.values(), restored.state.values(), strict=True):
        torch.testing.assert_close(a["exp_avg"], b["exp_avg"])
        torch.testing.assert_close(a["exp_avg_sq"], b["exp_avg_sq"])


# -- config ----------------------------------------------------------------------------------


def test_config_precedence_defaults_preset_flags():
    cfg, explicit = parse_config(["--preset", "small", "--num-envs", "4", "--no-memory"])
    assert cfg.num_envs == 4 and cfg.memory is False
    assert cfg.dim == PRESETS["small"]["dim"]
    assert cfg.gamma == TrainConfig().gamma
    assert explicit == {"preset": "small", "num_envs": 4, "memory": False}
    cfg, _ = parse_config(["--env-kwargs", '{"sentence_order": "sorted"}'])
    assert cfg.env_kwargs == {"sentence_order": "sorted"}


def test_config_errors():
    with pytest.raises(ValueError, match="recurrence=7 must divide num_steps=40"):
        TrainConfig(recurrence=7).validate()
    with pytest.raises(ValueError, match="unknown model 'lstm'"):
        TrainConfig(model="lstm").validate()
    with pytest.raises(ValueError, match="--grid-conv='depthwise'; valid: full, separable"):
        TrainConfig(grid_conv="depthwise").validate()
    with pytest.raises(SystemExit):
        parse_config(["--preset", "huge"])
    with pytest.raises(SystemExit):
        parse_config(["--env-kwargs", "[1, 2]"])


def test_text_cache_matches_autograd_and_follows_parameter_updates(batch):
    obs, spaces = batch
    agent = make_agent(spaces, "concat")
    encoder = agent.fusion.text
    tokens = torch.as_tensor(obs["description"]).flatten(0, 1)
    with torch.no_grad():
        cached = encoder(tokens)
        again = encoder(tokens)
    torch.testing.assert_close(cached, encoder(tokens).detach())  # the grad path is uncached
    torch.testing.assert_close(again, cached)
    optimizer = torch.optim.SGD(encoder.parameters(), lr=1.0)
    encoder(tokens).sum().backward()
    optimizer.step()
    with torch.no_grad():
        updated = encoder(tokens)
    torch.testing.assert_close(updated, encoder(tokens).detach())
    assert not torch.allclose(updated, cached)


def test_text_cache_follows_the_trainer_s_optimizer_steps(batch):
    """The cache keys on the parameters' version counters, so the trainer's optimizer must
    bump them (fused Adam's kernel does not by itself: the rollouts then read with the first
    parameters)."""
    from babyaipp.agents.trainer import make_optimizer

    obs, spaces = batch
    agent = make_agent(spaces, "cross-attention")
    tokens = torch.as_tensor(obs["description"]).flatten(0, 1)
    with torch.no_grad():
        before = agent.fusion.text(tokens)
    optimizer = make_optimizer(agent, 0.1, 1e-5)
    agent.fusion.text(tokens).sum().backward()
    optimizer.step()
    with torch.no_grad():
        cached = agent.fusion.text(tokens)
    assert not torch.allclose(cached, before)
    torch.testing.assert_close(cached, agent.fusion.text(tokens).detach())


@pytest.mark.parametrize("width", [4, 12])  # one packed key (4 x 6 bits), two passes (12 x 6)
def test_text_encoder_encodes_each_distinct_row_once_and_exactly(width):
    from babyaipp.agents.encoders import TextEncoder

    torch.manual_seed(0)
    encoder = TextEncoder(vocab_size=60, dim=8)
    distinct = torch.randint(1, 60, (5, width))
    distinct[1, width // 2 :] = 0  # a padded row
    tokens = distinct[torch.tensor([3, 0, 3, 1, 4, 0, 2, 2, 1])]
    rows, inverse = encoder.distinct_rows(tokens)
    assert len(rows) == 5 and torch.equal(rows[inverse], tokens)
    one_by_one = torch.cat([encoder(row[None]) for row in tokens])
    torch.testing.assert_close(encoder(tokens), one_by_one)


def test_unique_rows_is_exact_for_any_width():
    from babyaipp.agents.encoders import unique_rows

    torch.manual_seed(0)
    for width, bits in ((1, 3), (5, 6), (30, 6), (3, 40)):
        distinct = torch.randint(0, 2**bits, (7, width))
        rows = distinct[torch.randint(0, 7, (50,))]
        found, inverse = unique_rows(rows, bits)
        assert torch.equal(found[inverse], rows)
        assert len(found) == len(torch.unique(rows, dim=0))


def test_encoding_several_token_batches_at_once_is_encoding_each():
    from babyaipp.agents.encoders import TextEncoder

    torch.manual_seed(0)
    encoder = TextEncoder(vocab_size=60, dim=8)
    missions, sentences = torch.randint(1, 60, (4, 9)), torch.randint(0, 60, (6, 3))
    sentences[0] = 0  # an empty sentence
    together = encoder.encode(missions, sentences)
    for ours, batch in zip(together, (missions, sentences), strict=True):
        torch.testing.assert_close(ours, encoder(batch))


@pytest.mark.parametrize("extra", ["none", "table"])
def test_grid_encoder_embeds_each_distinct_cell_once_exactly(batch, extra):
    """With autograd, the grid encoder embeds each distinct cell once and gathers: the same
    values bit for bit as embedding every cell, and the same gradients (float64)."""
    from babyaipp.agents.encoders import CellTable, GridEncoder

    obs, _ = batch
    torch.manual_seed(0)
    grid = GridEncoder(8).double()
    image, direction = torch.as_tensor(obs["image"]), torch.as_tensor(obs["direction"])
    hidden = image[..., 0] == babyaipp.agents.fusion.FLOOR
    rows = torch.randn(5, 8, dtype=torch.float64, requires_grad=True)
    table = CellTable(rows, torch.randint(0, 5, image.shape[:3])) if extra == "table" else None
    per_cell = table.per_cell() if table is not None else None  # a tensor: embedded per cell
    parameters = [*grid.parameters(), rows]
    upstream = torch.randn(len(image), 8, 7, 7, dtype=torch.float64)

    def outputs_and_gradients(extra):
        out = grid(image, direction, extra, hidden)
        grads = torch.autograd.grad((out * upstream).sum(), parameters, allow_unused=True)
        return out.detach(), [
            g if g is not None else torch.zeros_like(p)
            for p, g in zip(parameters, grads, strict=True)
        ]

    once, once_grads = outputs_and_gradients(table)
    every, every_grads = outputs_and_gradients(per_cell)
    assert torch.equal(once, every)
    for ours, theirs in zip(once_grads, every_grads, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-12)
    with torch.no_grad():
        assert torch.equal(grid(image, direction, table, hidden), every)


def test_floor_reader_knows_floor_tiles_only_through_the_text(batch):
    """With no description (every cell attends to nothing), floor-reader's features do not
    change when the floor tiles are recoloured; cross-attention's do (it sees the colours)."""
    obs, spaces = batch
    floor = obs["image"][..., 0] == babyaipp.agents.fusion.FLOOR
    assert floor.any(), "the batch should show some floor tiles"
    silent = {**obs, "description": np.zeros_like(obs["description"])}
    recoloured = {**silent, "image": obs["image"].copy()}
    recoloured["image"][..., 1][floor] = (recoloured["image"][..., 1][floor] + 1) % 6
    for model, invariant in (("floor-reader", True), ("cross-attention", False)):
        agent = make_agent(spaces, model)
        same = torch.allclose(features(agent, silent), features(agent, recoloured), atol=1e-6)
        assert same == invariant, model


def test_tile_reader_reads_only_on_floor_tiles(batch):
    """Where no floor tile is in view, tile-reader's features do not depend on the description
    at all (the goal cannot read a colour's property); floor-reader's do."""
    obs, spaces = batch
    image = obs["image"].copy()
    floor = image[..., 0] == babyaipp.agents.fusion.FLOOR
    image[floor] = (babyaipp.agents.fusion.OBJECT_TO_IDX["empty"], 0, 0)
    described = {**obs, "image": image}
    silent = {**described, "description": np.zeros_like(obs["description"])}
    for model, invariant in (("tile-reader", True), ("floor-reader", False)):
        agent = make_agent(spaces, model)
        same = torch.allclose(features(agent, described), features(agent, silent), atol=1e-6)
        assert same == invariant, model
        if invariant:  # and it reports no attention where it reads nothing
            attention = agent.fusion.attention(obs_to_tensors(obs, "cpu")).numpy()
            assert ((attention == -1) | floor).all()


@pytest.mark.parametrize("model", ["cross-attention", "floor-reader", "tile-reader"])
def test_reading_once_per_kind_of_cell_is_reading_every_cell(batch, model):
    """With autograd, cross-attention reads once per (description, object and colour) and
    gathers; without, it reads every cell. In float64 the two give the same values and the
    same gradients; without autograd ``read`` is the per-cell computation, bit for bit."""
    obs, spaces = batch
    fusion = make_agent(spaces, model).double().fusion
    tensors = obs_to_tensors(obs, "cpu")
    repeats = torch.tensor([0, 1, 2, 3, 4, 5, 0, 0, 3, 5])  # descriptions and cells repeat
    tensors = {key: value[repeats] for key, value in tensors.items()}

    def per_cell():
        weights, values, instruction = fusion._attend(tensors)
        return (weights @ values).view(*tensors["image"].shape[:3], -1), instruction

    parameters = list(fusion.parameters())

    def outputs_and_gradients(read):
        torch.manual_seed(1)  # the same upstream gradient for both
        outputs = read()
        loss = sum((output * torch.randn_like(output)).sum() for output in outputs)
        gradients = torch.autograd.grad(loss, parameters, allow_unused=True)
        gradients = [
            g if g is not None else torch.zeros_like(p)
            for p, g in zip(parameters, gradients, strict=True)
        ]
        return [output.detach() for output in outputs], gradients

    once, once_gradients = outputs_and_gradients(lambda: fusion.read(tensors))
    every, every_gradients = outputs_and_gradients(per_cell)
    for ours, theirs in zip(once + once_gradients, every + every_gradients, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-12)
    assert sum(g.abs().sum() for g in once_gradients) > 0
    with torch.no_grad():
        assert torch.equal(fusion.read(tensors)[0], per_cell()[0])


def test_table_embedding_is_nn_embedding_with_a_faster_backward():
    """Same values as nn.Embedding (bitwise: evaluation replays stay identical), same gradient."""
    from babyaipp.agents.encoders import TableEmbedding

    torch.manual_seed(0)
    fast, reference = TableEmbedding(11, 8), torch.nn.Embedding(11, 8)
    reference.load_state_dict(fast.state_dict())
    indices = torch.randint(0, 11, (64, 7, 7))
    upstream = torch.randn(64, 7, 7, 8)
    out_fast, out_reference = fast(indices), reference(indices)
    assert torch.equal(out_fast, out_reference)
    (out_fast * upstream).sum().backward()
    (out_reference * upstream).sum().backward()
    torch.testing.assert_close(fast.weight.grad, reference.weight.grad)
    with torch.no_grad():
        assert torch.equal(fast(indices), out_reference)


@pytest.mark.parametrize("layout", ["channels_last", "contiguous"])
def test_grid_head_is_flatten_linear_norm_relu(layout):
    """GridHead: nn.Sequential(Flatten, Linear, LayerNorm, ReLU)'s keys and values (bit for bit
    without autograd; with it, channels-last features are read in their own order: the same
    values and gradients to rounding)."""
    from babyaipp.agents.encoders import GridHead

    torch.manual_seed(0)
    head = GridHead(5 * 7 * 7, 4)
    reference = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(5 * 7 * 7, 4), torch.nn.LayerNorm(4), torch.nn.ReLU()
    )
    reference.load_state_dict(head.state_dict())
    x = torch.randn(3, 7, 7, 5).permute(0, 3, 1, 2)  # channels-last, as the grid encoder makes
    x = (x.contiguous() if layout == "contiguous" else x).requires_grad_(True)
    with torch.no_grad():
        assert torch.equal(head(x), reference(x))
    upstream = torch.randn(3, 4)
    ours, theirs = head(x), reference(x)
    torch.testing.assert_close(ours, theirs)
    parameters = [x, *head.parameters()]
    ours_grads = torch.autograd.grad((ours * upstream).sum(), parameters)
    theirs_grads = torch.autograd.grad((theirs * upstream).sum(), [x, *reference.parameters()])
    for ours_grad, theirs_grad in zip(ours_grads, theirs_grads, strict=True):
        torch.testing.assert_close(ours_grad, theirs_grad)
    assert ours_grads[0].stride() == x.stride()  # the gradient keeps the features' layout


def test_medium_preset_is_small_with_larger_updates():
    cfg, _ = parse_config(["--preset", "medium"])
    assert (cfg.num_envs, cfg.num_steps, cfg.learning_rate, cfg.dim) == (64, 64, 3e-4, 32)
    assert cfg.num_envs * cfg.num_steps // cfg.num_minibatches == 1024  # frames per minibatch
    small, _ = parse_config(["--preset", "small"])
    assert small.num_envs * small.num_steps // small.num_minibatches == 256
    # the same frames between evaluations as before small's rollouts doubled (512 -> 1024)
    assert small.eval_interval * small.batch_size == 10 * 512
