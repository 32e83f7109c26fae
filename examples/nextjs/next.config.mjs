/** @type {import('next').NextConfig} */
const nextConfig = {
  // What `create-next-app` 16 writes, and the partial prefetching Next.js
  // 16.5 asks new projects to enable with it.
  cacheComponents: true,
  partialPrefetching: true,
  // lora-export is a native addon (a .node file loaded with require): Next.js
  // must not bundle it but load it from node_modules at run time.
  serverExternalPackages: ['lora-export'],
}

export default nextConfig
