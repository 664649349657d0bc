-- Keep every existing order's total: add the column as nullable, backfill it from the
-- order's items, then make it required.
ALTER TABLE "orders" ADD COLUMN "total_cents" INTEGER;

UPDATE "orders" AS o
SET "total_cents" = COALESCE((
    SELECT SUM(i."quantity" * i."unit_price_cents")
    FROM "order_items" AS i
    WHERE i."order_id" = o."id"
), 0);

ALTER TABLE "orders" ALTER COLUMN "total_cents" SET NOT NULL;
