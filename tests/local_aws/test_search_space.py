"""SageMaker's parameter ranges as Optuna distributions, and how many trials run at once (plain data)."""

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from local_aws.exceptions import NotSupportedLocally, ValidationException
from local_aws.sagemaker.search_space import search_space
from local_aws.training.tuner import max_parallel_trials

RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.1", "ScalingType": "Logarithmic"},
        {"Name": "dropout", "MinValue": "0", "MaxValue": "0.5", "ScalingType": "Linear"},
        {"Name": "momentum", "MinValue": "0.9", "MaxValue": "0.999", "ScalingType": "ReverseLogarithmic"},
        {"Name": "decay", "MinValue": "0", "MaxValue": "1"},
    ],
    "IntegerParameterRanges": [
        {"Name": "epochs", "MinValue": "1", "MaxValue": "64", "ScalingType": "Logarithmic"},
        {"Name": "width", "MinValue": "8", "MaxValue": "16", "ScalingType": "Auto"},
    ],
    "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["adamw", "sgd"]}],
}


def test_every_range_type_and_scaling_maps_to_its_distribution():
    parameters = {p.name: p for p in search_space(RANGES, {"batch_size": "8"})}
    assert parameters["lr"].distribution == FloatDistribution(0.0001, 0.1, log=True)
    assert parameters["dropout"].distribution == FloatDistribution(0.0, 0.5)
    assert parameters["decay"].distribution == FloatDistribution(0.0, 1.0)  # Auto: linear locally
    assert parameters["epochs"].distribution == IntDistribution(1, 64, log=True)
    assert parameters["width"].distribution == IntDistribution(8, 16)
    assert parameters["optimizer"].distribution == CategoricalDistribution(["adamw", "sgd"])
    # ReverseLogarithmic samples 1 - x log-uniformly, so values crowd towards MaxValue.
    assert parameters["momentum"].distribution == FloatDistribution(1 - 0.999, 1 - 0.9, log=True)


def test_sampled_values_become_hyperparameter_strings_inside_their_ranges():
    parameters = search_space(RANGES, {})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(50):
        trial = study.ask({p.name: p.distribution for p in parameters})
        values = {p.name: p.to_hyperparameter(trial.params[p.name]) for p in parameters}
        study.tell(trial, 0.0)
        assert 0.0001 <= float(values["lr"]) <= 0.1
        assert 0.9 <= float(values["momentum"]) <= 0.999
        assert values["epochs"].isdigit() and 1 <= int(values["epochs"]) <= 64
        assert values["optimizer"] in ("adamw", "sgd")


@pytest.mark.parametrize("ranges, error, message", [
    ({"ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}]},
     ValidationException, "values greater than 0"),
    ({"ContinuousParameterRanges": [{"Name": "m", "MinValue": "0.5", "MaxValue": "1",
                                     "ScalingType": "ReverseLogarithmic"}]},
     ValidationException, "entirely within 0 <= x < 1.0"),
    ({"IntegerParameterRanges": [{"Name": "n", "MinValue": "1", "MaxValue": "9", "ScalingType": "ReverseLogarithmic"}]},
     NotSupportedLocally, "continuous ranges only"),
    ({"IntegerParameterRanges": [{"Name": "n", "MinValue": "one", "MaxValue": "9"}]},
     ValidationException, "must have int MinValue and MaxValue"),
    ({"CategoricalParameterRanges": [{"Name": "o", "Values": ["a", "a"]}]}, ValidationException, "must be unique"),
    ({"IntegerParameterRanges": [{"Name": "n", "MinValue": "1", "MaxValue": "2"}],
      "CategoricalParameterRanges": [{"Name": "n", "Values": ["a"]}]}, ValidationException, "more than one"),
    ({}, ValidationException, "at least one range"),
])
def test_bad_ranges_are_refused_naming_the_problem(ranges, error, message):
    with pytest.raises(error, match=message):
        search_space(ranges, {})


@pytest.mark.parametrize("requested, instance_count, cores, expected", [
    (4, 1, 2, 2),   # bounded by the cores
    (1, 1, 8, 1),   # what was asked
    (3, 2, 8, 3),
    (3, 2, 4, 2),   # two hosts per trial
    (2, 4, 2, 1),   # one trial always runs
])
def test_parallel_trials_are_bounded_by_the_cores(requested, instance_count, cores, expected):
    assert max_parallel_trials(requested, instance_count, cores) == expected
