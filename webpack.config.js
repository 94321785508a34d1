// webpack 5 build of the demo page (www/ → www/dist). The page script and its Web Worker are
// bundled with the built package (pkg/, from scripts/build-pkg.sh) and its wasm as an asset;
// scripts/build-demo.mjs runs this and adds the page, the style sheet and the models.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));

export default {
  mode: 'production',
  context: path.join(root, 'www'),
  entry: { app: './app.js' },
  output: {
    path: path.join(root, 'www/dist'),
    filename: '[name].js',
    chunkFilename: '[name]-[contenthash:8].js',
    assetModuleFilename: 'assets/[name]-[contenthash:8][ext]',
  },
  // No eval-based source maps: the page runs under script-src 'self' 'wasm-unsafe-eval'.
  devtool: 'source-map',
  resolve: { conditionNames: ['browser', 'import', 'default'] },
  performance: { hints: false },
};
