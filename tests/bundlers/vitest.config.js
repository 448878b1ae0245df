export default { test: { environment: 'jsdom', include: ['unit/*.test.js'] } }
