/** @type {import('next').NextConfig} */
const nextConfig = {
  // lora-export is a native addon (a .node file loaded with require): Next.js
  // must not bundle it but load it from node_modules at run time.
  serverExternalPackages: ['lora-export'],
}

export default nextConfig
