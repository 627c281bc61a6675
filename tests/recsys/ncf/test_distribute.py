"""recsys.ncf.distribute: strategy names, TF_CONFIG checking, who the chief is, how a batch is split."""
import json

import numpy as np
import pytest

from recsys.ncf.distribute import (
    STRATEGIES,
    TFConfigError,
    check_strategy,
    is_chief,
    read_tf_config,
    replica_bounds,
)


def tf_config(**overrides) -> dict:
    config = {"cluster": {"worker": ["hostA:12345", "hostB:12345"]}, "task": {"type": "worker", "index": 0}}
    config.update(overrides)
    return config


def environ(config) -> dict:
    return {"TF_CONFIG": config if isinstance(config, str) else json.dumps(config)}


def test_the_three_strategies_are_accepted_and_others_refused_with_the_list():
    assert STRATEGIES == ("default", "mirrored", "multiworker")
    for name in STRATEGIES:
        assert check_strategy(name) == name
    with pytest.raises(ValueError, match="one of default, mirrored, multiworker, not 'horovod'"):
        check_strategy("horovod")


def test_no_tf_config_means_a_single_process_that_is_the_chief():
    assert read_tf_config({}) is None
    assert read_tf_config({"TF_CONFIG": "  "}) is None
    assert is_chief(None)


def test_a_valid_tf_config_is_returned_parsed():
    assert read_tf_config(environ(tf_config())) == tf_config()


@pytest.mark.parametrize("raw, reason", [
    ('{"cluster": {"worker": ["hostA:1"]}, "task": ', "not JSON"),
    ("[1, 2]", "expected a JSON object"),
    (tf_config(cluster={}), '"cluster" must map job names'),
    (tf_config(cluster={"worker": "hostA:1"}), '"cluster" must map job names'),
    (tf_config(task={"type": "worker"}), '"task" must be'),
    (tf_config(task={"type": "worker", "index": "0"}), '"task" must be'),
    (tf_config(task={"type": "ps", "index": 0}), 'task type must be "worker" or "chief"'),
    (tf_config(task={"type": "worker", "index": 2}), r"task worker 2 is not in the cluster \(worker: 2\)"),
    (tf_config(task={"type": "chief", "index": 0}), "task chief 0 is not in the cluster"),
])
def test_a_malformed_tf_config_is_a_clear_error(raw, reason):
    with pytest.raises(TFConfigError, match="TF_CONFIG is not a valid cluster description") as caught:
        read_tf_config(environ(raw))
    assert caught.match(reason)


def test_the_chief_is_worker_zero_or_the_chief_task():
    assert is_chief(tf_config())
    assert not is_chief(tf_config(task={"type": "worker", "index": 1}))
    with_chief = {"chief": ["hostC:1"], "worker": ["hostA:1", "hostB:1"]}
    assert is_chief(tf_config(cluster=with_chief, task={"type": "chief", "index": 0}))
    assert not is_chief(tf_config(cluster=with_chief, task={"type": "worker", "index": 0}))


def test_a_global_batch_is_cut_into_near_equal_consecutive_parts():
    assert replica_bounds(0, 2048, 1).tolist() == [0, 2048]
    assert replica_bounds(2048, 4096, 2).tolist() == [2048, 3072, 4096]
    bounds = replica_bounds(100, 107, 3)  # a short last batch: no row lost, none twice
    assert bounds.tolist() == [100, 102, 104, 107]
    assert np.diff(replica_bounds(0, 2, 4)).tolist() == [0, 1, 0, 1]  # fewer rows than replicas: some get none
