export declare const LTS_VERSION: string;
/** path of a Node 24 binary (installed from the npm registry on first use) */
export declare function ltsNode(): string;
