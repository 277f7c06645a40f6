// Hardhat 2 config for the TDS contracts. Works offline: the compiler is the solcjs (WASM) build
// shipped in node_modules/solc, never a download. Settings must match the Python side exactly.
'use strict';
const path = require('path');
const { subtask } = require('hardhat/config');
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require('hardhat/builtin-tasks/task-names');

require('@nomicfoundation/hardhat-ethers');
require('@nomicfoundation/hardhat-chai-matchers');

const SOLC_VERSION = '0.8.37';

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper(args);
  const solc = require('solc');
  return {
    compilerPath: path.join(path.dirname(require.resolve('solc/package.json')), 'soljson.js'),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

/** @type {import('hardhat/config').HardhatUserConfig} */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      viaIR: false,
    },
  },
  paths: {
    sources: './contracts',
    tests: './tests/contracts',
    cache: './.cache/hardhat/cache',
    artifacts: './.cache/hardhat/artifacts',
  },
  mocha: { timeout: 60000 },
};
