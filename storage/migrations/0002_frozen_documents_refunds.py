from tortoise import migrations
from tortoise.migrations import operations as ops
from storage.models.issued import RefundStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InvoiceDocument',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('invoice', fields.OneToOneField('models.Invoice', source_field='invoice_id', db_constraint=True, to_field='id', related_name='document', on_delete=OnDelete.CASCADE)),
                ('sha256', fields.CharField(max_length=64)),
                ('size', fields.IntField()),
                ('pdf', fields.BinaryField()),
                ('frozen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invoice_documents', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The issued PDF of an invoice or credit note, frozen: every later send delivers it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Refund',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('credit_note', fields.OneToOneField('models.Invoice', source_field='credit_note_id', db_constraint=True, to_field='id', related_name='refund', on_delete=OnDelete.CASCADE)),
                ('invoice', fields.ForeignKeyField('models.Invoice', source_field='invoice_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('models.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='refunds', on_delete=OnDelete.CASCADE)),
                ('amount_cents', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('status', fields.CharEnumField(default=RefundStatus.OWED, db_index=True, description='OWED: owed\nDONE: done', enum_type=RefundStatus, max_length=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_by', fields.ForeignKeyField('models.User', source_field='closed_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'refunds', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Money owed back to a client by a credit note on an invoice already (partly) paid.'},
            bases=['Model'],
        ),
    ]
