// Types of prerequisites.mjs (plain JavaScript so that npm's pretest can run it before the build).
export declare const PYTHON: string;
export declare function findRabbitmqServer(): string | undefined;
export declare function pikaImports(): boolean;
export declare function describePrerequisites(): string[];
