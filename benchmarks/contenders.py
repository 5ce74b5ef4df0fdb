"""The Python competitors of ``exportdata``, each run as its own process by export_bench.py.

    python benchmarks/contenders.py {recipe,naive,import-export} OUTPUT
    python benchmarks/contenders.py recipe OUTPUT --model app_label.Model

Each writes the same columns as ``exportdata --fields ...`` (see FIELDS), with a header line,
ordered by primary key, into OUTPUT. They are written the way their documentation shows,
not tuned: that is what a user would otherwise pick. With ``--model`` (kinds_bench.py) the
recipe writes that model's concrete fields, as ``exportdata app_label.Model`` does.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIELDS = ("id", "customer__email", "status", "total_cents", "created_at", "note")


def django_recipe(output: Path, model: str | None = None) -> None:
    """Django's "Streaming large CSV files" how-to, its generator consumed into a file.

    https://docs.djangoproject.com/en/5.2/howto/outputting-csv/#streaming-large-csv-files
    The strings the generator yields are encoded as ``StreamingHttpResponse`` would.
    """

    class Echo:
        """An object that implements just the write method of the file-like interface."""

        def write(self, value):
            return value

    if model is None:
        from exportsite.shop.models import Order as Model

        fields = FIELDS
    else:
        from django.apps import apps

        Model = apps.get_model(model)  # noqa: N806
        fields = [f.attname for f in Model._meta.concrete_fields]
    rows = Model.objects.order_by("id").values_list(*fields).iterator()
    writer = csv.writer(Echo())
    stream = (writer.writerow(row) for row in rows)
    with output.open("wb") as out:
        out.write(writer.writerow(fields).encode("utf-8"))
        for line in stream:
            out.write(line.encode("utf-8"))


def naive(output: Path) -> None:
    """The usual first version: ``list(queryset)`` of model instances, then ``csv.writer``."""
    from exportsite.shop.models import Order

    orders = list(Order.objects.select_related("customer").order_by("id"))
    with output.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for order in orders:
            writer.writerow(
                [
                    order.id,
                    order.customer.email,
                    order.status,
                    order.total_cents,
                    order.created_at,
                    order.note,
                ]
            )


def import_export(output: Path) -> None:
    """django-import-export: a ModelResource's ``export(queryset)``, then ``dataset.csv``."""
    from import_export import resources

    from exportsite.shop.models import Order

    class OrderResource(resources.ModelResource):
        class Meta:
            model = Order
            fields = FIELDS
            export_order = FIELDS

    # select_related, as import-export's docs advise, or each row costs one more query.
    queryset = Order.objects.select_related("customer").order_by("id")
    dataset = OrderResource().export(queryset=queryset)
    with output.open("w", encoding="utf-8", newline="") as out:
        out.write(dataset.csv)


def warm_up(output: Path) -> None:
    """Import what the contenders import, so that their bytecode is cached before timing."""
    from import_export import resources

    from exportsite.shop.models import Order

    class OrderResource(resources.ModelResource):
        class Meta:
            model = Order
            fields = FIELDS

    output.write_text(OrderResource().export(queryset=Order.objects.none()).csv)
    list(Order.objects.select_related("customer").values_list(*FIELDS)[:1])


CONTENDERS = {
    "recipe": django_recipe,
    "naive": naive,
    "import-export": import_export,
    "warm-up": warm_up,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", choices=sorted(CONTENDERS))
    parser.add_argument("output", type=Path)
    parser.add_argument(
        "--model", help="recipe only: export this model's concrete fields instead of FIELDS"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.bench_settings")
    import django

    django.setup()
    if args.model:
        django_recipe(args.output, args.model)
    else:
        CONTENDERS[args.contender](args.output)


if __name__ == "__main__":
    main()
