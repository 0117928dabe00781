"""The dogImages layout that training, serving, the pipeline and the sample dataset share: three split
folders, each of class folders named ``NNN.Breed_name``, whose label is the part after the number.

No imports: train.py and inference.py import it beside them (as SageMaker runs them), the pipeline as
``model_code.dataset_layout``.
"""

SPLITS = ("train", "valid", "test")


def label_of(class_folder: str) -> str:
    """``001.Affenpinscher`` -> ``Affenpinscher``; a folder without the number keeps its name."""
    number, dot, name = class_folder.partition(".")
    return name if dot and number.isdigit() else class_folder
