"""SageMaker's `ParameterRanges` as Optuna distributions, and chosen values back as hyperparameters."""

from collections.abc import Callable
from dataclasses import dataclass

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from local_aws.exceptions import NotSupportedLocally, ValidationException


@dataclass(frozen=True)
class TunedParameter:
    name: str
    distribution: BaseDistribution
    # What SageMaker passes to the trial: the sampled value as a hyperparameter string.
    to_hyperparameter: Callable[[object], str]


def search_space(ranges: dict, static_hyperparameters: dict[str, str]) -> list[TunedParameter]:
    parameters = (
        [_continuous(r) for r in ranges.get("ContinuousParameterRanges", [])]
        + [_integer(r) for r in ranges.get("IntegerParameterRanges", [])]
        + [_categorical(r) for r in ranges.get("CategoricalParameterRanges", [])]
    )
    names = [p.name for p in parameters]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValidationException(f"Hyperparameters {duplicated} appear in more than one parameter range.")
    both = sorted(set(names) & set(static_hyperparameters))
    if both:
        raise ValidationException(f"Hyperparameters {both} cannot be both static and tunable.")
    if not parameters:
        raise ValidationException("ParameterRanges must define at least one range to tune.")
    return parameters


def _bounds(parameter_range: dict, kind: type) -> tuple:
    name = parameter_range["Name"]
    try:
        low, high = kind(parameter_range["MinValue"]), kind(parameter_range["MaxValue"])
    except ValueError:
        raise ValidationException(
            f"The range of hyperparameter {name} must have {kind.__name__} MinValue and MaxValue, got "
            f"{parameter_range['MinValue']!r} and {parameter_range['MaxValue']!r}."
        )
    if low > high:
        raise ValidationException(f"The MinValue of hyperparameter {name} is greater than its MaxValue.")
    return low, high


def _continuous(parameter_range: dict) -> TunedParameter:
    name = parameter_range["Name"]
    low, high = _bounds(parameter_range, float)
    scaling = parameter_range.get("ScalingType", "Auto")
    if scaling == "Logarithmic":
        _require(low > 0, name, "Logarithmic scaling works only for ranges that have only values greater than 0.")
        return TunedParameter(name, FloatDistribution(low, high, log=True), _float_string)
    if scaling == "ReverseLogarithmic":
        _require(0 <= low and high < 1, name,
                 "ReverseLogarithmic scaling works only for ranges that are entirely within 0 <= x < 1.0.")
        # Log-uniform in 1 - x: values crowd towards the top of the range, as SageMaker samples them.
        return TunedParameter(name, FloatDistribution(1 - high, 1 - low, log=True), lambda v: _float_string(1 - v))
    # Auto: SageMaker chooses the scaling; local_aws chooses Linear.
    return TunedParameter(name, FloatDistribution(low, high), _float_string)


def _integer(parameter_range: dict) -> TunedParameter:
    name = parameter_range["Name"]
    low, high = _bounds(parameter_range, int)
    scaling = parameter_range.get("ScalingType", "Auto")
    if scaling == "ReverseLogarithmic":
        raise NotSupportedLocally(f"ReverseLogarithmic scaling for the integer hyperparameter {name}",
                                  "SageMaker allows it for continuous ranges only.")
    if scaling == "Logarithmic":
        _require(low > 0, name, "Logarithmic scaling works only for ranges that have only values greater than 0.")
    return TunedParameter(name, IntDistribution(low, high, log=scaling == "Logarithmic"), lambda v: str(int(v)))


def _categorical(parameter_range: dict) -> TunedParameter:
    values = parameter_range["Values"]
    if len(set(values)) != len(values):
        raise ValidationException(f"The values of categorical hyperparameter {parameter_range['Name']} must be unique.")
    return TunedParameter(parameter_range["Name"], CategoricalDistribution(values), str)


def _require(condition: bool, name: str, message: str) -> None:
    if not condition:
        raise ValidationException(f"Hyperparameter {name}: {message}")


def _float_string(value: float) -> str:
    return repr(float(value))
