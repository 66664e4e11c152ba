// Imported first by the in-process benchmarks: everything after it loads as the
// server does in production (graphql-js and Pothos read NODE_ENV when they load).
// Set here rather than in the npm script so that it works in every shell.
process.env.NODE_ENV = 'production';
