"""NCFConfig: the automatic batch size and what the config refuses."""
import pytest

from recsys.ncf.config import AUTO_BATCH_MAX, NCFConfig, auto_batch_size


@pytest.mark.parametrize(("examples", "batch"), [
    (0, 2048),
    (500_000, 2048),  # ml-latest-small: ~100k ratings x 5 rows, ~244 steps an epoch
    (4_095_999, 2048),  # at 4,096 rows this epoch would have just under 1,000 steps
    (4_096_000, 4096),
    (11_400_000, 8192),  # the 2.5M-rating synthetic set: ~1,400 steps
    (16_384_000, 16384),
    (117_000_000, AUTO_BATCH_MAX),  # ml-25m: capped, ~7,100 steps
])
def test_auto_batch_doubles_only_while_an_epoch_keeps_a_thousand_steps(examples, batch):
    assert auto_batch_size(examples) == batch


def test_an_explicit_batch_size_wins_over_the_automatic_one():
    assert NCFConfig().batch_size == 0
    assert NCFConfig().batch_size_for(117_000_000) == 16384
    assert NCFConfig(batch_size=512).batch_size_for(117_000_000) == 512


def test_a_negative_batch_size_is_refused():
    with pytest.raises(ValueError, match="batch_size >= 0"):
        NCFConfig(batch_size=-1)
