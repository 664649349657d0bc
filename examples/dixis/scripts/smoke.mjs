// App smoke check ("Test application on staging"): read through every model with the
// generated Prisma Client over the driver adapter, and print what was read.
import { PrismaClient } from "@prisma/client";
import { createAdapter } from "../db/adapter.mjs";

const prisma = new PrismaClient({ adapter: createAdapter() });
try {
  const counts = {
    producers: await prisma.producer.count(),
    products: await prisma.product.count(),
    orders: await prisma.order.count(),
    orderItems: await prisma.orderItem.count(),
    appSettings: await prisma.appSetting.count(),
  };
  // One query across the relations the app relies on.
  const latest = await prisma.order.findFirst({
    orderBy: { id: "desc" },
    include: { items: { include: { product: { include: { producer: true } } } } },
  });
  const summary = Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(" ");
  console.log(`smoke: read ${summary}; latest order ${latest ? `#${latest.id} total ${latest.totalCents}` : "none"}`);
  console.log("App smoke check passed");
} finally {
  await prisma.$disconnect();
}
