"""VAT categories, line natures, buyer references, invoicing period, discounts (issue 10 B).

Lines of invoices issued before this migration keep what they were issued with: standard
rated (S) above 0 %, exempt (E, generic wording) at 0 %."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from storage.models.billing import SupplyNature, VatCategory
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_bank_files')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Contact',
            name='country',
            field=fields.CharField(null=True, max_length=2),
        ),
        ops.AddField(
            model_name='Contact',
            name='delivery_address',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='DealLine',
            name='nature',
            field=fields.CharEnumField(default=SupplyNature.GOODS, db_default=SupplyNature.GOODS, description='GOODS: goods\nSERVICES: services', enum_type=SupplyNature, max_length=8),
        ),
        ops.AddField(
            model_name='Invoice',
            name='buyer_reference',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='Invoice',
            name='discount_bp',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Invoice',
            name='discount_cents',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Invoice',
            name='discount_reason',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='Invoice',
            name='period_end',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Invoice',
            name='period_start',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='Invoice',
            name='purchase_order',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='Invoice',
            name='total_allowance_cents',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='InvoiceLine',
            name='discount_bp',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='InvoiceLine',
            name='discount_cents',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='InvoiceLine',
            name='discount_reason',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='InvoiceLine',
            name='nature',
            field=fields.CharEnumField(default=SupplyNature.GOODS, db_default=SupplyNature.GOODS, description='GOODS: goods\nSERVICES: services', enum_type=SupplyNature, max_length=8),
        ),
        ops.AddField(
            model_name='InvoiceLine',
            name='vat_category',
            field=fields.CharEnumField(null=True, description='STANDARD: S\nINTRA_COMMUNITY: K\nREVERSE_CHARGE: AE\nEXPORT: G\nEXEMPT: E\nOUTSIDE_SCOPE: O', enum_type=VatCategory, max_length=2),
        ),
        ops.AddField(
            model_name='InvoiceLine',
            name='vat_exemption',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='Product',
            name='nature',
            field=fields.CharEnumField(default=SupplyNature.GOODS, db_default=SupplyNature.GOODS, description='GOODS: goods\nSERVICES: services', enum_type=SupplyNature, max_length=8),
        ),
        ops.AddField(
            model_name='Product',
            name='vat_exemption',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.RunSQL(
            "UPDATE invoice_lines SET vat_category = 'S' WHERE vat_rate_bp > 0 AND invoice_id IN "
            "(SELECT id FROM invoices WHERE status <> 'draft')",
            reverse_sql="SELECT 1",
        ),
        ops.RunSQL(
            "UPDATE invoice_lines SET vat_category = 'E', vat_exemption = 'ZERO' "
            "WHERE vat_rate_bp = 0 AND invoice_id IN (SELECT id FROM invoices WHERE status <> 'draft')",
            reverse_sql="SELECT 1",
        ),
    ]
