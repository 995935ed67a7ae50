"""Default credit policy: the master scale, the approval ladder, matrix v1, checklists and turnaround
targets. All of it is bank policy, so it is data the admin changes, not constants in code."""

from decimal import Decimal

from django.db import migrations

# grade, label, local label, PD from, PD (calibrated), PD to; grade 1 sits on the 0.05 % corporate PD floor.
MASTER_SCALE = [
    (1, "Excellent", "优秀", "0", "0.0005", "0.0008"),
    (2, "Very strong", "很强", "0.0008", "0.0011", "0.0015"),
    (3, "Strong", "强", "0.0015", "0.0021", "0.0030"),
    (4, "Good", "良好", "0.0030", "0.0042", "0.0060"),
    (5, "Satisfactory", "满意", "0.0060", "0.0085", "0.0120"),
    (6, "Adequate", "尚可", "0.0120", "0.0175", "0.0250"),
    (7, "Moderate", "一般", "0.0250", "0.0350", "0.0500"),
    (8, "Weak", "较弱", "0.0500", "0.0700", "0.1000"),
    (9, "Very weak", "很弱", "0.1000", "0.2000", "0.999999"),
    (10, "Default", "违约", "1", "1", "1"),
]

# slug, name, local name, rank, committee, quorum
LEVELS = [
    ("rm", "Relationship manager", "客户经理", 10, False, 1),
    ("branch_credit_officer", "Branch credit officer", "支行审批人", 20, False, 1),
    ("regional_head", "Regional head", "分行负责人", 30, False, 1),
    ("head_office_credit", "Head-office credit", "总行授信审批部", 40, False, 1),
    ("credit_committee", "Credit committee", "贷审会", 50, True, 3),
]

# level, maximum group exposure in CNY (None: unlimited), worst grade, products (empty: all)
MATRIX_V1 = [
    ("rm", "1000000", 4, ["working_capital", "term_loan", "equipment_finance", "trade_finance"]),
    (
        "branch_credit_officer",
        "10000000",
        6,
        ["working_capital", "term_loan", "equipment_finance", "trade_finance", "revolving_facility", "guarantee", "green_loan"],
    ),
    ("regional_head", "50000000", 7, []),
    ("head_office_credit", "300000000", 8, []),
    ("credit_committee", None, 10, []),
]

# code, name, local name, product (None: every application)
DOCUMENTS = [
    ("kyc_documents", "KYC documents", "客户身份识别资料", None),
    ("business_licence", "Business licence", "营业执照", None),
    ("articles", "Articles of association", "公司章程", None),
    ("financial_statements", "Financial statements, last three years", "近三年财务报表", None),
    ("board_resolution", "Board resolution to borrow", "董事会借款决议", None),
    ("credit_report", "Credit bureau report", "征信报告", None),
    ("feasibility_study", "Feasibility study", "可行性研究报告", "project_finance"),
    ("project_approvals", "Project approvals and permits", "项目核准文件", "project_finance"),
    ("environmental_assessment", "Environmental and social impact assessment", "环境和社会影响评价", "project_finance"),
    ("financial_model", "Financial model", "财务模型", "project_finance"),
    ("construction_contract", "Construction (EPC) contract", "工程总承包合同", "project_finance"),
    ("trade_contracts", "Underlying trade contracts", "贸易合同", "trade_finance"),
    ("use_of_proceeds", "Green use-of-proceeds statement", "绿色资金用途说明", "green_loan"),
    ("equipment_quotation", "Equipment quotation", "设备报价单", "equipment_finance"),
    ("guarantee_wording", "Guarantee wording", "保函文本", "guarantee"),
]

# status, hours by default, hours for project finance (None: the default applies)
TARGETS = [
    ("draft", 240, None),
    ("submitted", 8, None),
    ("in_review", 24, 48),
    ("credit_analysis", 72, 240),
    ("pending_decision", 48, 120),
    ("referred_up", 48, 120),
    ("approved", 24, None),
    ("approved_with_conditions", 48, None),
    ("offer_issued", 336, None),
    ("offer_accepted", 240, 720),
    ("conditions_met", 48, None),
]


def add_reference_data(apps, schema_editor):
    grade = apps.get_model("origination", "RiskGrade")
    for number, label, local, low, pd, high in MASTER_SCALE:
        grade.objects.update_or_create(
            grade=number,
            defaults={
                "label": label,
                "local_label": local,
                "pd_low": Decimal(low),
                "pd": Decimal(pd),
                "pd_high": Decimal(high),
            },
        )
    level_model = apps.get_model("origination", "AuthorityLevel")
    levels = {}
    for slug, name, local, rank, committee, quorum in LEVELS:
        levels[slug], _ = level_model.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "local_name": local, "rank": rank, "is_committee": committee, "quorum": quorum},
        )
    product = apps.get_model("pipeline", "Product")
    products = {p.code: p for p in product.objects.all()}
    matrix_model = apps.get_model("origination", "AuthorityMatrix")
    if not matrix_model.objects.exists():
        matrix = matrix_model.objects.create(number=1, status="active", currency="CNY", note="Default policy")
        limit_model = apps.get_model("origination", "AuthorityLimit")
        for slug, maximum, worst, codes in MATRIX_V1:
            limit = limit_model.objects.create(
                matrix=matrix,
                level=levels[slug],
                max_group_exposure=Decimal(maximum) if maximum else None,
                worst_grade=worst,
            )
            limit.products.set([products[c] for c in codes])
    requirement = apps.get_model("origination", "DocumentRequirement")
    for position, (code, name, local, product_code) in enumerate(DOCUMENTS, start=1):
        requirement.objects.update_or_create(
            code=code,
            product=products.get(product_code) if product_code else None,
            defaults={"name": name, "local_name": local, "position": position},
        )
    target = apps.get_model("origination", "StageTarget")
    for status, hours, pf_hours in TARGETS:
        target.objects.update_or_create(status=status, product=None, defaults={"target_hours": hours})
        if pf_hours:
            target.objects.update_or_create(
                status=status, product=products["project_finance"], defaults={"target_hours": pf_hours}
            )


class Migration(migrations.Migration):
    dependencies = [("origination", "0001_initial"), ("pipeline", "0002_catalogue")]
    operations = [migrations.RunPython(add_reference_data, migrations.RunPython.noop)]
