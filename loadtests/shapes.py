"""The locust load shape: plays the profile named by ``--load-shape`` (see
``loadtests.profiles``) over ``--run-time``, up to ``--users``."""

from __future__ import annotations

from locust import LoadTestShape

from loadtests.profiles import users_at


class LoadProfile(LoadTestShape):
    """Plays ``--load-shape`` over ``--run-time`` up to ``--users`` (never fewer users than the
    user classes' fixed counts, so the burst and auditor users always run)."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None and self.runner.environment.parsed_options is not None
        options = self.runner.environment.parsed_options
        run_time = options.run_time or 30
        elapsed = self.get_run_time()
        if elapsed >= run_time:
            return None
        peak = options.num_users or 1
        fixed = sum(cls.fixed_count for cls in self.runner.environment.user_classes)
        users = max(users_at(options.load_shape, elapsed / run_time, peak), fixed + 1)
        rate = options.spawn_rate or 1
        if options.load_shape == "spike":
            rate = max(rate, peak)  # a spike arrives at once
        return users, rate
