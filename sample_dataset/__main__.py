"""``python -m sample_dataset --out DIR [--zip PATH]``: build the sample dogImages dataset."""

from __future__ import annotations

import argparse
import sys

from sample_dataset import SPLITS, DatasetSpec, build, pack_zip


def get_args_parser() -> argparse.ArgumentParser:
    defaults = DatasetSpec()
    parser = argparse.ArgumentParser(
        prog="python -m sample_dataset",
        description="Build DIR/dogImages/{train,valid,test}/NNN.Name/*.jpg from scikit-learn's digits.",
    )
    parser.add_argument("--out", required=True, help="folder that receives dogImages/")
    parser.add_argument("--zip", help="also pack dogImages/ into this zip file")
    parser.add_argument("--image-size", type=int, default=defaults.image_size, help="side of the square JPEGs in pixels")
    parser.add_argument(
        "--per-class-limit", type=int, default=None, help="at most this many images of each class in each split"
    )
    parser.add_argument("--valid-fraction", type=float, default=defaults.valid_fraction)
    parser.add_argument("--test-fraction", type=float, default=defaults.test_fraction)
    parser.add_argument("--seed", type=int, default=defaults.seed, help="decides the split")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing DIR/dogImages")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = get_args_parser()
    args = parser.parse_args(argv)
    try:
        spec = DatasetSpec(
            image_size=args.image_size,
            valid_fraction=args.valid_fraction,
            test_fraction=args.test_fraction,
            per_class_limit=args.per_class_limit,
            seed=args.seed,
        )
        root = build(args.out, spec, overwrite=args.overwrite)
        if args.zip:
            pack_zip(root, args.zip)
    except (ValueError, FileExistsError) as error:
        parser.error(str(error))
    counts = ", ".join(f"{split} {sum(1 for _ in (root / split).rglob('*.jpg'))}" for split in SPLITS)
    print(f"wrote {root} ({counts})" + (f" and {args.zip}" if args.zip else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
