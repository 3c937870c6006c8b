import{S as i}from"./index-BVXPeFvi.js";const n=o=>["",...i].includes(o);export{n as i};
