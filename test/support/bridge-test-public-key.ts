// The public half of the tests' fixed bridge key (bridge-test-key.ts), alone in its file so
// vitest.config.ts can bind it without loading the protocol schemas.
export const TEST_BRIDGE_PUBLIC_KEY = "NV_ejCHOVAgLdx28o76Rbt3DwIJntr7M0Ms6RoPqx-k";
