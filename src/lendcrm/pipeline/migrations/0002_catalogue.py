"""The default product catalogue; banks add, rename or retire products in the admin."""

from django.db import migrations

CATALOGUE = [
    ("term_loan", "Term loan", "固定资产贷款", "lending"),
    ("revolving_facility", "Revolving facility", "循环贷款", "lending"),
    ("working_capital", "Working capital loan", "流动资金贷款", "lending"),
    ("trade_finance", "Trade finance", "贸易融资", "lending"),
    ("project_finance", "Project finance loan", "项目融资", "lending"),
    ("green_loan", "Green loan", "绿色贷款", "lending"),
    ("equipment_finance", "Equipment finance", "设备融资", "lending"),
    ("guarantee", "Guarantee", "保函", "lending"),
    ("cash_management", "Deposits and cash management", "存款与现金管理", "non_lending"),
    ("fx_hedging", "FX hedging", "外汇套期保值", "non_lending"),
    ("insurance", "Insurance", "保险", "non_lending"),
    ("wealth", "Wealth products", "财富管理", "non_lending"),
    ("advisory", "Advisory", "财务顾问", "non_lending"),
]


def add_catalogue(apps, schema_editor):
    product = apps.get_model("pipeline", "Product")
    for position, (code, name, local_name, family) in enumerate(CATALOGUE, start=1):
        product.objects.update_or_create(
            code=code, defaults={"name": name, "local_name": local_name, "family": family, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial")]
    operations = [migrations.RunPython(add_catalogue, migrations.RunPython.noop)]
