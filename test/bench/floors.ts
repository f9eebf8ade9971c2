// The floors of `npm run bench`, taken in the same run as every measured route and served by the
// same wrangler dev, the same workerd process and the same Worker as the edge
// (test/bench/floor/beside-edge.ts), as the issue measured them: a hello-world answer from the
// Worker and from a Durable Object, asked by the same keep-alive client (Node's fetch) as the
// edge's routes.
import { join } from "node:path";

/** What the stack adds to its frozen copy of wrangler.toml for the entry with the floors. */
const FLOOR_CONFIG = `
[[durable_objects.bindings]]
name = "HELLO"
class_name = "HelloDO"

[[migrations]]
tag = "bench-floor"
new_sqlite_classes = ["HelloDO"]
`;

export interface Floors {
  workerUrl: string;
  objectUrl: string;
}

/** The stack option that puts the floors beside the edge. */
export const floorsBesideEdge = (root: string) => ({ script: join(root, "test/bench/floor/beside-edge.ts"), config: FLOOR_CONFIG });

export const floorsOf = (edgeUrl: string): Floors => ({ workerUrl: `${edgeUrl}/__floor`, objectUrl: `${edgeUrl}/__floor/do` });
