// The version the MCP server reports (serverInfo): the package's own, read from package.json when
// the Worker is bundled, so there is one number to bump and no second copy to forget.
import packageJson from "../../package.json";

export const PACKAGE_VERSION: string = packageJson.version;
