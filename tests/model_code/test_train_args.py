import pytest

from train import main, parse_args

PATHS = ["--data_dir", "d", "--model_dir", "m", "--output_data_dir", "o"]


def test_sagemaker_environment_gives_the_path_defaults(monkeypatch):
    monkeypatch.setenv("SM_CHANNEL_TRAINING", "/opt/ml/input/data/training")
    monkeypatch.setenv("SM_MODEL_DIR", "/opt/ml/model")
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")

    args = parse_args([])

    assert (args.data_dir, args.model_dir, args.output_data_dir, args.checkpoint_dir) == (
        "/opt/ml/input/data/training", "/opt/ml/model", "/opt/ml/output/data", "/opt/ml/checkpoints")
    assert parse_args(["--model_dir", "elsewhere"]).model_dir == "elsewhere"


def test_missing_path_names_the_flag_and_the_variable(monkeypatch, capsys):
    monkeypatch.delenv("SM_MODEL_DIR", raising=False)
    with pytest.raises(SystemExit):
        parse_args(["--data_dir", "d", "--output_data_dir", "o"])
    assert "--model_dir is required when SM_MODEL_DIR is not set" in capsys.readouterr().err


def test_hyperparameters_arrive_as_sagemaker_strings():
    args = parse_args(PATHS + ["--arch", "resnet18", "--pretrained", "true", "--freeze_backbone", "False",
                               "--epochs", "3", "--batch_size", "32", "--learning_rate", "1.5e-03",
                               "--image_size", "64", "--seed", "7"])

    assert (args.arch, args.pretrained, args.freeze_backbone) == ("resnet18", True, False)
    assert (args.epochs, args.batch_size, args.learning_rate, args.image_size, args.seed) == (3, 32, 1.5e-3, 64, 7)


def test_sagemaker_own_arguments_are_ignored():
    # The training toolkit passes every hyperparameter not starting with sagemaker_ on, so a tuning
    # trial also gets the objective SageMaker adds to its hyperparameters.
    args = parse_args(PATHS + ["--sagemaker_program", "train.py", "--epochs", "2", "--_tuning_objective_metric",
                               "valid:accuracy", "--sagemaker_region=us-east-1", "--sagemaker_container_log_level",
                               "20", "--freeze_backbone", "True"])
    assert (args.epochs, args.freeze_backbone) == (2, True)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--arch", "vgg11"], "invalid choice: 'vgg11' (choose from 'resnet18', 'resnet34'"),
        (["--optimizer", "lion"], "choose from 'adamw', 'adam', 'sgd'"),
        (["--pretrained", "yes"], "expected true or false, got 'yes'"),
        (["--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
        (["--learning_rate", "0"], "argument --learning_rate: must be > 0.0, got 0"),
        (["--image_size", "8"], "argument --image_size: must be >= 16, got 8"),
        (["--batch_size", "many"], "argument --batch_size: invalid int value: 'many'"),
        (["--lerning_rate", "0.1"], "unrecognized arguments: --lerning_rate 0.1"),
        (["--learning", "0.1"], "unrecognized arguments: --learning 0.1"),
        (["--tuning_objective_metric", "x"], "unrecognized arguments: --tuning_objective_metric x"),
    ],
)
def test_bad_hyperparameters_fail_fast_naming_the_problem(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(PATHS + argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_unwritable_output_folder_fails_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = parse_args(["--data_dir", str(tmp_path / "no-data"), "--model_dir", str(tmp_path / "model"),
                       "--output_data_dir", str(tmp_path / "output"), "--checkpoint_dir", str(blocker / "checkpoints")])

    # The data dir does not exist either: the folder check comes first, before anything is loaded.
    with pytest.raises(PermissionError, match=f"--checkpoint_dir {blocker / 'checkpoints'} cannot be created: "
                                              f"{blocker} is not a writable folder"):
        main(args)
