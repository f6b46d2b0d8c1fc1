from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from storage.models.einvoicing import PaQueueState, PaSubmissionKind, SupplierInvoiceStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PaInboundFlow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('flow_id', fields.CharField(unique=True, max_length=36)),
                ('flow_type', fields.CharField(max_length=48)),
                ('direction', fields.CharField(max_length=3)),
                ('ack_status', fields.CharField(default='', max_length=8)),
                ('tracking_id', fields.CharField(null=True, max_length=36)),
                ('updated_at_pa', fields.CharField(default='', max_length=40)),
                ('meta', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('state', fields.CharEnumField(default=PaQueueState.PENDING, db_index=True, description='PENDING: pending\nSENDING: sending\nDONE: done\nFAILED: failed', enum_type=PaQueueState, max_length=8)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claim_token', fields.CharField(null=True, db_index=True, max_length=32)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pa_inbound_flows', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaInvoice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('invoice', fields.OneToOneField('models.Invoice', source_field='invoice_id', db_constraint=True, to_field='id', related_name='pa', on_delete=OnDelete.CASCADE)),
                ('tracking_id', fields.CharField(unique=True, max_length=36)),
                ('attempt', fields.IntField(default=1)),
                ('flow_id', fields.CharField(null=True, db_index=True, max_length=36)),
                ('status_code', fields.IntField(null=True)),
                ('status_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reason', fields.TextField(null=True, unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'pa_invoices', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SupplierInvoice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('flow_id', fields.CharField(unique=True, max_length=36)),
                ('syntax', fields.CharField(max_length=12)),
                ('supplier', fields.ForeignKeyField('models.Contact', source_field='supplier_id', null=True, db_constraint=True, to_field='id', related_name='supplier_invoices', on_delete=OnDelete.CASCADE)),
                ('seller_name', fields.CharField(default='', max_length=200)),
                ('seller_siren', fields.CharField(default='', max_length=14)),
                ('seller_vat', fields.CharField(default='', max_length=20)),
                ('number', fields.CharField(max_length=64)),
                ('type_code', fields.CharField(default='380', max_length=3)),
                ('issue_date', fields.DateField()),
                ('due_date', fields.DateField(null=True, db_index=True)),
                ('currency', fields.CharField(default='EUR', max_length=3)),
                ('total_net_cents', fields.BigIntField(default=0)),
                ('total_vat_cents', fields.BigIntField(default=0)),
                ('total_gross_cents', fields.BigIntField(default=0)),
                ('po_number', fields.CharField(default='', max_length=64)),
                ('purchase_order', fields.ForeignKeyField('models.PurchaseOrder', source_field='purchase_order_id', null=True, db_constraint=True, to_field='id', related_name='supplier_invoices', on_delete=OnDelete.CASCADE)),
                ('lines', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('match', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('fully_matched', fields.BooleanField(default=False)),
                ('status', fields.CharEnumField(default=SupplierInvoiceStatus.RECEIVED, db_index=True, description='RECEIVED: received\nAPPROVED: approved\nDISPUTED: disputed\nREFUSED: refused', enum_type=SupplierInvoiceStatus, max_length=10)),
                ('reason_code', fields.CharField(null=True, max_length=64)),
                ('reason', fields.TextField(null=True, unique=False)),
                ('decided_by', fields.ForeignKeyField('models.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'supplier_invoices', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaStatusEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('dedupe_key', fields.CharField(unique=True, max_length=200)),
                ('invoice', fields.ForeignKeyField('models.Invoice', source_field='invoice_id', null=True, db_constraint=True, to_field='id', related_name='pa_events', on_delete=OnDelete.CASCADE)),
                ('supplier_invoice', fields.ForeignKeyField('models.SupplierInvoice', source_field='supplier_invoice_id', null=True, db_constraint=True, to_field='id', related_name='pa_events', on_delete=OnDelete.CASCADE)),
                ('code', fields.IntField()),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('outgoing', fields.BooleanField(default=False)),
                ('reason_code', fields.CharField(null=True, max_length=64)),
                ('reason', fields.TextField(null=True, unique=False)),
                ('amount_cents', fields.BigIntField(null=True)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pa_status_events', 'app': 'models', 'indexes': [Index(fields=['invoice_id', 'at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaSubmission',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tracking_id', fields.CharField(unique=True, max_length=36)),
                ('kind', fields.CharEnumField(description='INVOICE: invoice\nSTATUS: status', enum_type=PaSubmissionKind, max_length=8)),
                ('invoice', fields.ForeignKeyField('models.Invoice', source_field='invoice_id', null=True, db_constraint=True, to_field='id', related_name='pa_submissions', on_delete=OnDelete.CASCADE)),
                ('supplier_invoice', fields.ForeignKeyField('models.SupplierInvoice', source_field='supplier_invoice_id', null=True, db_constraint=True, to_field='id', related_name='pa_submissions', on_delete=OnDelete.CASCADE)),
                ('status_code', fields.IntField(null=True)),
                ('params', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('state', fields.CharEnumField(default=PaQueueState.PENDING, db_index=True, description='PENDING: pending\nSENDING: sending\nDONE: done\nFAILED: failed', enum_type=PaQueueState, max_length=8)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claim_token', fields.CharField(null=True, db_index=True, max_length=32)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('flow_id', fields.CharField(null=True, max_length=36)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pa_submissions', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
